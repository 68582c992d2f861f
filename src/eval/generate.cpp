#include "eval/generate.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace elab {

// Where the first stop sequence ends the text, or npos.
static size_t stop_position(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  for (const auto& s : stops) {
    if (s.empty()) continue;
    size_t p = text.find(s);
    if (p != std::string::npos) best = std::min(best, p);
  }
  return best;
}

static void generate_batch(Transformer& model, const ByteTokenizer& tok, const std::vector<std::vector<int32_t>>& encoded,
                           const std::vector<size_t>& rows, const GenerateOptions& opts, std::vector<Completion>& out) {
  const int64_t B = int64_t(rows.size());
  int64_t P = 0;
  for (size_t r : rows) P = std::max<int64_t>(P, int64_t(encoded[r].size()));
  auto device = model->rope_cos.device();

  std::vector<int64_t> ids(size_t(B * P), ByteTokenizer::kPad), pad(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = encoded[rows[size_t(b)]];
    pad[size_t(b)] = P - int64_t(e.size());
    std::copy(e.begin(), e.end(), ids.begin() + b * P + pad[size_t(b)]);
  }
  auto input = torch::from_blob(ids.data(), {B, P}, torch::kLong).to(device);
  auto left_pad = torch::from_blob(pad.data(), {B}, torch::kLong).to(device);
  KVCache cache = model->make_cache(B, P + opts.max_new_tokens, left_pad);

  std::vector<std::vector<int32_t>> generated(static_cast<size_t>(B));
  std::vector<std::string> text(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  auto logits = model->forward(input, &cache);  // (B, P, V)
  for (int step = 0; step < opts.max_new_tokens; ++step) {
    auto next = logits.select(1, logits.size(1) - 1).argmax(-1).to(torch::kCPU);  // (B)
    auto next_a = next.accessor<int64_t, 1>();
    int64_t remaining = 0;
    for (int64_t b = 0; b < B; ++b) {
      if (done[size_t(b)]) continue;
      int32_t id = int32_t(next_a[b]);
      if (id == ByteTokenizer::kEos) {
        done[size_t(b)] = true;
        continue;
      }
      generated[size_t(b)].push_back(id);
      if (id < 256) text[size_t(b)].push_back(char(id));
      if (stop_position(text[size_t(b)], opts.stop) != std::string::npos) done[size_t(b)] = true;
      remaining += !done[size_t(b)];
    }
    if (remaining == 0 || step + 1 == opts.max_new_tokens) break;
    logits = model->forward(next.view({B, 1}).to(device), &cache);  // (B, 1, V)
  }
  for (int64_t b = 0; b < B; ++b) {
    Completion& c = out[rows[size_t(b)]];
    size_t cut = stop_position(text[size_t(b)], opts.stop);
    c.text = cut == std::string::npos ? text[size_t(b)] : text[size_t(b)].substr(0, cut);
    c.tokens = int64_t(generated[size_t(b)].size());
    c.hit_limit = !done[size_t(b)];
  }
}

std::vector<Completion> generate_greedy(Transformer& model, const ByteTokenizer& tokenizer,
                                        const std::vector<std::string>& prompts, const GenerateOptions& opts) {
  check(opts.max_new_tokens > 0, "max new tokens must be positive, got {}", opts.max_new_tokens);
  check(opts.batch_size > 0, "batch size must be positive, got {}", opts.batch_size);
  torch::NoGradGuard no_grad;
  bool was_training = model->is_training();
  model->eval();

  const int64_t context = model->config.max_seq_len;
  std::vector<std::vector<int32_t>> encoded;
  encoded.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int32_t> ids{ByteTokenizer::kBos};
    auto body = tokenizer.encode(prompts[i]);
    ids.insert(ids.end(), body.begin(), body.end());
    check(int64_t(ids.size()) + opts.max_new_tokens <= context,
          "prompt {} has {} tokens; with {} new tokens it exceeds the model's context of {} (use fewer exemplars "
          "or a shorter prompt)",
          i, ids.size(), opts.max_new_tokens, context);
    encoded.push_back(std::move(ids));
  }
  // Similar lengths together keep padding small; results do not depend on the grouping.
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return encoded[a].size() < encoded[b].size(); });

  std::vector<Completion> out(prompts.size());
  for (size_t begin = 0; begin < order.size(); begin += size_t(opts.batch_size)) {
    size_t end = std::min(order.size(), begin + size_t(opts.batch_size));
    generate_batch(model, tokenizer, encoded, std::vector<size_t>(order.begin() + begin, order.begin() + end), opts, out);
  }
  model->train(was_training);
  return out;
}

}  // namespace elab
