#include "eval/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/threads.h"

namespace elab {

// Where the first stop sequence starts in the text, or npos.
static size_t stop_position(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  for (const auto& s : stops) {
    if (s.empty()) continue;
    size_t p = text.find(s);
    if (p != std::string::npos) best = std::min(best, p);
  }
  return best;
}

// A stop sequence that appears when a token adds bytes `added` onward ends within them:
// searching from where it could start finds it without scanning the whole text again.
static bool stop_since(const std::string& text, size_t added, const std::vector<std::string>& stops) {
  for (const auto& s : stops) {
    if (s.empty() || text.size() < s.size()) continue;
    const size_t from = added + 1 > s.size() ? added + 1 - s.size() : 0;
    if (text.find(s, from) != std::string::npos) return true;
  }
  return false;
}

int32_t choose_token(const float* logits, int64_t vocab, const GenerateOptions& opts, Rng& rng, const Tokenizer& tok) {
  auto never_generated = [&](int64_t id) { return tok.never_generated(int32_t(id)); };
  if (opts.temperature <= 0) {
    int64_t best = -1;
    for (int64_t v = 0; v < vocab; ++v)
      if (!never_generated(v) && (best < 0 || logits[v] > logits[best])) best = v;
    return int32_t(best);
  }
  std::vector<std::pair<double, int32_t>> cand;  // (probability, id), sorted by probability
  double max_logit = -INFINITY;
  for (int64_t v = 0; v < vocab; ++v)
    if (!never_generated(v)) max_logit = std::max(max_logit, double(logits[v]));
  for (int64_t v = 0; v < vocab; ++v)
    if (!never_generated(v)) cand.emplace_back(std::exp((double(logits[v]) - max_logit) / opts.temperature), int32_t(v));
  std::stable_sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (opts.top_k > 0 && size_t(opts.top_k) < cand.size()) cand.resize(size_t(opts.top_k));
  double total = 0;
  for (const auto& c : cand) total += c.first;
  if (opts.top_p < 1.0) {
    double kept = 0;
    size_t n = 0;
    while (n < cand.size() && kept < opts.top_p * total) kept += cand[n++].first;
    cand.resize(std::max<size_t>(n, 1));
    total = kept > 0 ? kept : cand[0].first;
  }
  double u = rng.uniform() * total;
  for (const auto& c : cand) {
    u -= c.first;
    if (u < 0) return c.second;
  }
  return cand.back().second;
}

namespace {

struct Batch {
  std::vector<size_t> prompts;  // indices into the prompt list
};

std::vector<std::vector<int32_t>> encode_all(const Tokenizer& tok, const std::vector<std::string>& texts) {
  std::vector<std::vector<int32_t>> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(tok.encode_prompt(t));
  return out;
}

// Left-pads rows into (B, P) and returns the per-row padding, or an undefined tensor when
// no row is padded (no mask to build).
torch::Tensor left_padded(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad_id, torch::Tensor& pad_out,
                          torch::Device device) {
  const int64_t B = int64_t(rows.size());
  int64_t P = 0;
  for (auto* r : rows) P = std::max<int64_t>(P, int64_t(r->size()));
  std::vector<int64_t> ids(static_cast<size_t>(B * P), pad_id), pad(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = *rows[size_t(b)];
    pad[size_t(b)] = P - int64_t(r.size());
    std::copy(r.begin(), r.end(), ids.begin() + b * P + pad[size_t(b)]);
  }
  const bool padded = std::any_of(pad.begin(), pad.end(), [](int64_t p) { return p > 0; });
  pad_out = padded ? torch::from_blob(pad.data(), {B}, torch::kLong).clone().to(device) : torch::Tensor();
  return torch::from_blob(ids.data(), {B, P}, torch::kLong).clone().to(device);
}

// Few-shot prompts share their exemplars: the leading tokens every row has in common are
// encoded once for the whole call (one row, a KV cache of their length) and copied into
// each batch's cache after each row's padding. A row's positions count from its first
// real token, so the copy is exactly what the row would compute. Worth it from
// kSharedPrefixMin tokens and two rows; never past limit[i] tokens of row i (a row keeps
// the positions it needs outputs from); not with a prefix-tuning prefix or sliding-window
// layers (their caches differ).
constexpr int64_t kSharedPrefixMin = 256;

SharedPrefix encode_shared_prefix(Transformer& model, const std::vector<std::vector<int32_t>>& rows,
                                  const std::vector<size_t>& limit) {
  SharedPrefix out;
  if (rows.size() < 2 || model->has_prefix() || model->config.sliding_window > 0) return out;
  size_t n = SIZE_MAX;
  for (size_t i = 0; i < rows.size(); ++i) n = std::min({n, rows[i].size(), limit[i]});
  for (const auto& r : rows) n = size_t(std::mismatch(r.begin(), r.begin() + int64_t(n), rows[0].begin()).first - r.begin());
  if (int64_t(n) < kSharedPrefixMin) return out;
  out.tokens.assign(rows[0].begin(), rows[0].begin() + int64_t(n));
  out.cache = model->make_cache(1, int64_t(n));
  std::vector<int64_t> ids(out.tokens.begin(), out.tokens.end());
  model->hidden(torch::tensor(ids).view({1, int64_t(n)}).to(model->rope_cos.device()), &out.cache);
  return out;
}

// Whether a kept prefix can serve every row: each starts with its tokens, within limit[i].
bool serves_every_row(const SharedPrefix& kept, const std::vector<std::vector<int32_t>>& rows,
                      const std::vector<size_t>& limit) {
  if (kept.tokens.empty()) return false;
  for (size_t i = 0; i < rows.size(); ++i)
    if (limit[i] < kept.tokens.size() || !std::equal(kept.tokens.begin(), kept.tokens.end(), rows[i].begin()))
      return false;
  return true;
}

// Copies the shared prefix into a left-padded batch cache (`pad` undefined: no row is
// padded) and sets its length there: the longest row has no padding, so its suffix
// starts at the prefix's end. Shorter rows then recompute a few prefix tokens, which
// writes the same keys.
void copy_shared_prefix(const SharedPrefix& prefix, const torch::Tensor& pad, KVCache& cache) {
  const int64_t L = prefix.length();
  std::vector<int64_t> pads;  // each row's padding, on the host once
  if (pad.defined()) {
    const auto host = pad.cpu();
    pads.assign(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
  }
  for (size_t l = 0; l < cache.keys.size(); ++l) {
    const auto k = prefix.cache.keys[l].narrow(2, 0, L), v = prefix.cache.values[l].narrow(2, 0, L);  // (1, K, L, D)
    if (!pad.defined()) {  // one broadcast copy into every row
      cache.keys[l].narrow(2, 0, L).copy_(k);
      cache.values[l].narrow(2, 0, L).copy_(v);
      continue;
    }
    for (int64_t b = 0; b < cache.batch(); ++b) {
      cache.keys[l][b].narrow(1, pads[size_t(b)], L).copy_(k[0]);
      cache.values[l][b].narrow(1, pads[size_t(b)], L).copy_(v[0]);
    }
  }
  cache.length = L;
}

void decode_batch(Transformer& model, const Tokenizer& tok, const std::vector<std::vector<int32_t>>& encoded,
                  const SharedPrefix& prefix, const std::vector<size_t>& which, const GenerateOptions& opts,
                  std::vector<Completion>& out) {
  const int64_t N = opts.num_samples, Bp = int64_t(which.size()), B = Bp * N;
  auto device = model->rope_cos.device();
  std::vector<const std::vector<int32_t>*> rows;
  for (size_t i : which) rows.push_back(&encoded[i]);
  torch::Tensor pad;
  auto input = left_padded(rows, tok.padding_id(), pad, device);  // (Bp, P)
  const int64_t P = input.size(1);

  KVCache cache = model->make_cache(Bp, P + opts.max_new_tokens, pad);
  // (Bp, V): the prompt is encoded once (its shared prefix once for the whole call), and
  // projected to the vocabulary at its last position only
  const int64_t shared = prefix.length();
  if (shared > 0) copy_shared_prefix(prefix, pad, cache);
  auto logits =
      model->logits(model->hidden(input.narrow(1, shared, P - shared), &cache).narrow(1, P - shared - 1, 1)).select(1, 0);
  if (N > 1) {  // the N samples of a prompt share one copy of its keys and values
    if (model->has_prefix() || model->config.sliding_window > 0) {
      // Prefix-tuned models attend to their prefix on another path, and sliding windows
      // are not implemented on the shared one: copy the rows instead.
      select_rows(cache, torch::arange(Bp, torch::TensorOptions().dtype(torch::kLong).device(device)).repeat_interleave(N));
    } else {
      cache = share_prefix(cache, N, opts.max_new_tokens);
    }
    logits = logits.repeat_interleave(N, 0);  // (B, V)
  }

  std::vector<Rng> rngs;
  for (int64_t r = 0; r < B; ++r) {
    const size_t prompt = which[size_t(r / N)];
    rngs.emplace_back(opts.prompt_seeds.empty() ? derive_seed(opts.seed, "sample", {prompt, uint64_t(r % N)})
                                                : derive_seed(opts.prompt_seeds[prompt], "sample", {0, uint64_t(r % N)}));
  }
  std::vector<std::string> text(static_cast<size_t>(B));
  std::vector<std::vector<int32_t>> ids(static_cast<size_t>(B));
  std::vector<int64_t> count(static_cast<size_t>(B), 0);
  std::vector<bool> done(static_cast<size_t>(B), false);
  // live[k] is the row decoded at batch position k. When most rows have finished, the
  // batch (and its cache) is compacted to the rest, so one long chain does not keep
  // every finished row computing.
  std::vector<int64_t> live(static_cast<size_t>(B));
  std::iota(live.begin(), live.end(), 0);
  std::vector<int64_t> next;
  for (int step = 0; step < opts.max_new_tokens; ++step) {
    auto host = logits.to(torch::kCPU, torch::kFloat).contiguous();  // (live, V)
    const int64_t V = host.size(1);
    const float* data = host.data_ptr<float>();
    next.assign(live.size(), tok.padding_id());
    int64_t remaining = 0;
    for (size_t k = 0; k < live.size(); ++k) {
      const size_t r = size_t(live[k]);
      if (done[r]) continue;
      int32_t id = choose_token(data + int64_t(k) * V, V, opts, rngs[r], tok);
      next[k] = id;
      if (tok.ends_generation(id) && !opts.ignore_eos) {
        done[r] = true;
        continue;
      }
      ++count[r];
      const size_t added = text[r].size();
      const std::string& piece = tok.token_bytes(id);
      text[r] += piece;
      ids[r].push_back(id);
      if (stop_since(text[r], added, opts.stop)) done[r] = true;
      if (piece.find('\n') != std::string::npos && !opts.stop_after_line_with.empty() &&
          text[r].find(opts.stop_after_line_with) != std::string::npos)
        done[r] = true;
      remaining += !done[r];
    }
    if (remaining == 0 || step + 1 == opts.max_new_tokens) break;
    if (remaining * 2 <= int64_t(live.size()) && live.size() >= 8) {
      std::vector<int64_t> keep_pos, keep_live, keep_next;
      for (size_t k = 0; k < live.size(); ++k)
        if (!done[size_t(live[k])]) keep_pos.push_back(int64_t(k)), keep_live.push_back(live[k]), keep_next.push_back(next[k]);
      select_rows(cache, torch::tensor(keep_pos, torch::kLong).to(device));
      live = std::move(keep_live);
      next = std::move(keep_next);
    }
    auto step_ids = torch::from_blob(next.data(), {int64_t(next.size()), 1}, torch::kLong).clone().to(device);
    logits = model->forward(step_ids, &cache).select(1, 0);  // (live, V)
  }
  for (int64_t r = 0; r < B; ++r) {
    Completion& c = out[which[size_t(r / N)] * size_t(N) + size_t(r % N)];
    size_t cut = stop_position(text[size_t(r)], opts.stop);
    c.text = cut == std::string::npos ? text[size_t(r)] : text[size_t(r)].substr(0, cut);
    size_t kept = 0;
    for (int32_t id : ids[size_t(r)]) {
      const std::string& piece = tok.token_bytes(id);
      if (kept + piece.size() > c.text.size()) break;
      c.ids.push_back(id);
      kept += piece.size();
    }
    if (kept < c.text.size()) {  // a token the stop sequence cut through: its kept bytes
      auto rest = tok.encode(c.text.substr(kept));
      c.ids.insert(c.ids.end(), rest.begin(), rest.end());
    }
    c.tokens = count[size_t(r)];
    c.hit_limit = !done[size_t(r)];
  }
}

// One batch split into opts.workers contiguous parts decoded side by side; each part
// writes only its own rows of `out`.
void decode_in_parts(Transformer& model, const Tokenizer& tok, const std::vector<std::vector<int32_t>>& encoded,
                     const SharedPrefix& prefix, const std::vector<size_t>& which, const GenerateOptions& opts,
                     std::vector<Completion>& out) {
  const size_t parts = size_t(std::clamp<int64_t>(opts.workers, 1, int64_t(which.size())));
  if (parts <= 1) return decode_batch(model, tok, encoded, prefix, which, opts, out);
  run_parts(parts, [&](size_t i) {
    c10::InferenceMode inference;  // thread-local, like the caller's
    const size_t first = which.size() * i / parts, last = which.size() * (i + 1) / parts;
    decode_batch(model, tok, encoded, prefix, std::vector<size_t>(which.begin() + long(first), which.begin() + long(last)),
                 opts, out);
  });
}

}  // namespace

std::vector<Completion> generate(Transformer& model, const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                 const GenerateOptions& opts, SharedPrefix* kept) {
  check(opts.max_new_tokens > 0, "max new tokens must be positive, got {}", opts.max_new_tokens);
  check(opts.batch_size > 0, "batch size must be positive, got {}", opts.batch_size);
  check(opts.num_samples > 0, "samples per prompt must be positive, got {}", opts.num_samples);
  check(opts.temperature >= 0, "temperature must be >= 0, got {}", opts.temperature);
  check(opts.top_p > 0 && opts.top_p <= 1, "top-p must be in (0, 1], got {}", opts.top_p);
  check(opts.prompt_seeds.empty() || opts.prompt_seeds.size() == prompts.size(), "{} prompt seeds for {} prompts",
        opts.prompt_seeds.size(), prompts.size());
  c10::InferenceMode inference;  // no autograd bookkeeping at all (cheaper than NoGradGuard)
  bool was_training = model->is_training();
  model->eval();

  auto encoded = encode_all(tokenizer, prompts);
  for (size_t i = 0; i < encoded.size(); ++i)
    check(int64_t(encoded[i].size()) + opts.max_new_tokens <= model->config.max_seq_len,
          "prompt {} has {} tokens; with {} new tokens it exceeds the model's context of {} (use fewer exemplars "
          "or a shorter prompt)",
          i, encoded[i].size(), opts.max_new_tokens, model->config.max_seq_len);
  // Similar lengths together keep padding small; results do not depend on the grouping.
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return encoded[a].size() < encoded[b].size(); });

  // Each prompt keeps at least its last token: its first logits come from its own batch.
  std::vector<size_t> all_but_last;
  for (const auto& e : encoded) all_but_last.push_back(e.empty() ? 0 : e.size() - 1);
  SharedPrefix encoded_here;
  const SharedPrefix* prefix = &encoded_here;
  if (kept && serves_every_row(*kept, encoded, all_but_last)) {
    prefix = kept;
  } else {
    encoded_here = encode_shared_prefix(model, encoded, all_but_last);
    if (kept && encoded_here.length() > 0) *kept = encoded_here;  // tensors are shared, not copied
  }
  std::vector<Completion> out(prompts.size() * size_t(opts.num_samples));
  const size_t per_batch = size_t(std::max(1, opts.batch_size / opts.num_samples));
  Progress progress("generate", int64_t(prompts.size()), opts.show_progress && prompts.size() > per_batch);
  for (size_t begin = 0; begin < order.size(); begin += per_batch) {
    size_t end = std::min(order.size(), begin + per_batch);
    decode_in_parts(model, tokenizer, encoded, *prefix, std::vector<size_t>(order.begin() + begin, order.begin() + end), opts, out);
    progress.update(int64_t(end));
  }
  progress.finish();
  model->train(was_training);
  return out;
}

std::vector<TokenScores> score_tokens(Transformer& model, const std::vector<std::vector<int32_t>>& rows, int top,
                                      int batch_size, int workers, int32_t pad_id, const std::vector<size_t>& first) {
  c10::InferenceMode inference;
  bool was_training = model->is_training();
  model->eval();
  auto device = model->rope_cos.device();
  check(first.empty() || first.size() == rows.size(), "score: {} first positions for {} rows", first.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    check(int64_t(rows[i].size()) <= model->config.max_seq_len, "text {} to score has {} tokens, more than the model's context of {}",
          i, rows[i].size(), model->config.max_seq_len);
  auto first_of = [&](size_t i) { return std::max<size_t>(1, first.empty() ? 1 : first[i]); };
  // The logits predicting row i's token first_of(i) come from position first_of(i) - 1:
  // the tokens before it can be a prefix shared by every row, encoded once.
  std::vector<size_t> before_first;
  for (size_t i = 0; i < rows.size(); ++i) before_first.push_back(first_of(i) - 1);
  const SharedPrefix prefix = encode_shared_prefix(model, rows, before_first);
  std::vector<TokenScores> out(rows.size());
  // Scores rows [begin, end) as one left-padded batch.
  auto score_rows = [&](size_t begin, size_t end) {
    if (begin >= end) return;
    std::vector<const std::vector<int32_t>*> batch;
    for (size_t i = begin; i < end; ++i) batch.push_back(&rows[i]);
    torch::Tensor pad;
    auto input = left_padded(batch, pad_id, pad, device);  // (B, T)
    const int64_t T = input.size(1), L = prefix.length();
    KVCache cache = model->make_cache(int64_t(batch.size()), T, pad);
    if (L > 0) copy_shared_prefix(prefix, pad, cache);
    auto h = model->hidden(input.narrow(1, L, T - L), &cache);  // (B, T - L, C): positions L.. T - 1
    auto ids = input.to(torch::kCPU);
    auto id = ids.accessor<int64_t, 2>();
    // Logits a chunk of positions at a time (the whole (B, T, V) would be gigabytes for a
    // pretrained vocabulary), from the first position any row needs. Token t (at position
    // p) is predicted by the logits at p - 1.
    const int64_t V = model->config.vocab_size, B = int64_t(batch.size());
    int64_t needed = T - 1;
    for (size_t i = begin; i < end; ++i)
      needed = std::min(needed, T - int64_t(rows[i].size()) + int64_t(first_of(i)) - 1);
    const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 26) / std::max<int64_t>(1, B * V));  // ~256 MB of floats
    for (int64_t p0 = std::max(needed, L); p0 + 1 < T; p0 += chunk) {
      const int64_t n = std::min(chunk, T - 1 - p0);
      auto logp = torch::log_softmax(model->logits(h.narrow(1, p0 - L, n)).to(torch::kFloat), -1).to(torch::kCPU);  // (B, n, V)
      torch::Tensor top_values, top_ids;
      if (top > 0) std::tie(top_values, top_ids) = logp.topk(top, -1);
      auto lp = logp.accessor<float, 3>();
      for (size_t i = begin; i < end; ++i) {
        const int64_t b = int64_t(i - begin), padding = T - int64_t(rows[i].size());
        TokenScores& s = out[i];
        // entry q - padding is the token at q + 1; those before first_of(i) are NaN
        const int64_t from = std::max(p0, padding + int64_t(first_of(i)) - 1);
        s.logprob.resize(size_t(std::min<int64_t>(from - padding, int64_t(rows[i].size()) - 1)), std::nan(""));
        if (top > 0) s.top.resize(s.logprob.size());
        for (int64_t q = from; q < p0 + n; ++q) {  // logits at q predict the token at q + 1
          s.logprob.push_back(lp[b][q - p0][id[b][q + 1]]);
          if (top <= 0) continue;
          std::vector<std::pair<int32_t, double>> alts;
          auto tv = top_values[b][q - p0], ti = top_ids[b][q - p0];
          for (int k = 0; k < top; ++k) alts.emplace_back(int32_t(ti[k].item<int64_t>()), tv[k].item<float>());
          s.top.push_back(std::move(alts));
        }
      }
    }
  };
  const size_t per_batch = size_t(std::max(1, batch_size));
  for (size_t begin = 0; begin < rows.size(); begin += per_batch) {
    const size_t end = std::min(rows.size(), begin + per_batch), n = end - begin;
    const size_t parts = size_t(std::clamp<int64_t>(workers, 1, int64_t(n)));
    run_parts(parts, [&](size_t i) {
      c10::InferenceMode inference;  // thread-local, like the caller's
      score_rows(begin + n * i / parts, begin + n * (i + 1) / parts);
    });
  }
  model->train(was_training);
  return out;
}

std::vector<double> score_continuations(Transformer& model, const Tokenizer& tokenizer,
                                        const std::vector<std::string>& prompts,
                                        const std::vector<std::string>& continuations, int batch_size,
                                        int workers) {
  check(prompts.size() == continuations.size(), "score: {} prompts but {} continuations", prompts.size(),
        continuations.size());
  auto prompt_ids = encode_all(tokenizer, prompts);
  std::vector<std::vector<int32_t>> full(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    full[i] = prompt_ids[i];
    auto c = tokenizer.encode(continuations[i]);
    full[i].insert(full[i].end(), c.begin(), c.end());
    check(int64_t(full[i].size()) <= model->config.max_seq_len, "prompt {} with its continuation has {} tokens, more than "
          "the model's context of {}", i, full[i].size(), model->config.max_seq_len);
  }
  std::vector<size_t> first;  // only the continuations' tokens are scored
  for (const auto& p : prompt_ids) first.push_back(p.size());
  const auto scores = score_tokens(model, full, 0, batch_size, workers, tokenizer.padding_id(), first);
  std::vector<double> out(prompts.size(), 0.0);
  for (size_t i = 0; i < prompts.size(); ++i)
    for (size_t t = prompt_ids[i].size(); t < full[i].size(); ++t) out[i] += scores[i].logprob[t - 1];
  return out;
}

}  // namespace elab
