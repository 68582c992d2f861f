#include "model/gguf_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <set>

#include "core/error.h"
#include "model/family.h"
#include "text/hf_tokenizer.h"

namespace elab {

bool is_gguf_path(const fs::path& path) { return path.extension() == ".gguf" && fs::is_regular_file(path); }

ModelConfig gguf_model_config(const GgufFile& f) {
  const std::string arch = f.string_or("general.architecture", "");
  const ModelFamily& family = find_gguf_family(arch, f.where());
  auto key = [&](const char* k) { return arch + "." + k; };
  ModelConfig c;
  c.family = family.name;
  c.d_model = int(f.integer(key("embedding_length")));
  c.n_layers = int(f.integer(key("block_count")));
  c.n_heads = int(f.integer(key("attention.head_count")));
  c.n_kv_heads = int(f.integer_or(key("attention.head_count_kv"), c.n_heads));
  c.ffn_hidden = int(f.integer(key("feed_forward_length")));
  c.max_seq_len = int(f.integer_or(key("context_length"), 2048));
  c.rope_theta = f.number_or(key("rope.freq_base"), 10000.0);
  c.norm_eps = f.number_or(key("attention.layer_norm_rms_epsilon"), 1e-5);
  c.vocab_size = int(f.has(key("vocab_size")) ? f.integer(key("vocab_size")) : f.strings("tokenizer.ggml.tokens").size());
  c.tie_embeddings = f.find("output.weight") == nullptr;
  if (family.gguf_read) family.gguf_read(f, c);
  check(c.sliding_window >= 0 && c.sliding_window <= (1 << 24), "{}: {} is out of range", f.where(),
        key("attention.sliding_window"));
  c.validate(f.where());
  const int64_t rotary = f.integer_or(key("rope.dimension_count"), c.head_dim());
  check(rotary == c.head_dim(), "{}: {} = {} (partial rotary) is not supported; the head dimension is {}", f.where(),
        key("rope.dimension_count"), rotary, c.head_dim());
  for (const char* k : {"attention.key_length", "attention.value_length"}) {
    const int64_t length = f.integer_or(key(k), c.head_dim());
    check(length == c.head_dim(), "{}: {} = {} differs from the head dimension {}", f.where(), key(k), length,
          c.head_dim());
  }
  const std::string scaling = f.string_or(key("rope.scaling.type"), "none");
  check(scaling == "none" || scaling == "linear", "{}: {} '{}' is not supported (none, linear)", f.where(),
        key("rope.scaling.type"), scaling);
  if (scaling == "linear") {
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = f.number_or(key("rope.scaling.factor"), 1.0);
    check(c.rope_scaling.factor > 0, "{}: {} must be positive", f.where(), key("rope.scaling.factor"));
  }
  return c;
}

// llama.cpp's pre-tokenizer names (llama-vocab.cpp) and the regexes it splits by.
static std::vector<SplitStep> gguf_pre_tokenizer(const GgufFile& f) {
  const std::string gpt2 = kGpt2SplitPattern;
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::string qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::string pre = f.string_or("tokenizer.ggml.pre", "default");
  if (pre == "default" || pre == "gpt-2" || pre == "gpt2") return {{gpt2}};
  if (pre == "smollm") return {{kDigitSplitPattern}, {gpt2}};
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3") return {{llama3}};
  if (pre == "qwen2") return {{qwen2}};
  fail("{}: tokenizer.ggml.pre '{}' is not supported (this build reads default, gpt-2, smollm, llama-bpe, qwen2)",
       f.where(), pre);
}

// SentencePiece's BPE merges the adjacent pair whose union is the vocabulary's
// highest-scoring piece; as Hugging Face's converter does, that is BPE with a merge
// (left, right) for every split of every piece into two pieces, ranked by the piece's
// score, highest first.
static std::vector<std::pair<std::string, std::string>> merges_from_scores(const std::vector<std::string>& vocab,
                                                                           const std::vector<double>& scores,
                                                                           const std::vector<double>& types) {
  std::unordered_map<std::string_view, int32_t> id;
  for (size_t i = 0; i < vocab.size(); ++i)
    if (types.empty() || types[i] == 1) id.emplace(vocab[i], int32_t(i));  // normal pieces only
  struct Merge {
    double score;
    int32_t piece, left, right;
  };
  std::vector<Merge> found;
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (!types.empty() && types[i] != 1) continue;
    const std::string_view piece = vocab[i];
    for (size_t cut = 1; cut < piece.size(); ++cut) {
      if ((uint8_t(piece[cut]) & 0xC0) == 0x80) continue;  // inside a UTF-8 character
      auto l = id.find(piece.substr(0, cut)), r = id.find(piece.substr(cut));
      if (l != id.end() && r != id.end()) found.push_back({scores[i], int32_t(i), l->second, r->second});
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.piece != b.piece) return a.piece < b.piece;
    return std::pair(a.left, a.right) < std::pair(b.left, b.right);
  });
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(found.size());
  for (const auto& m : found) merges.emplace_back(vocab[size_t(m.left)], vocab[size_t(m.right)]);
  return merges;
}

BpeSpec gguf_tokenizer_spec(const GgufFile& f) {
  const std::string model = f.string_or("tokenizer.ggml.model", "");
  check(model == "gpt2" || model == "llama",
        "{}: tokenizer.ggml.model '{}' is not supported (this build reads 'gpt2', byte-level BPE, and 'llama', "
        "SentencePiece BPE)", f.where(), model);
  BpeSpec spec;
  spec.vocab = f.strings("tokenizer.ggml.tokens");
  std::vector<double> types;
  if (f.has("tokenizer.ggml.token_type")) {
    types = f.numbers("tokenizer.ggml.token_type");
    check(types.size() == spec.vocab.size(), "{}: tokenizer.ggml.token_type has {} entries for {} tokens", f.where(),
          types.size(), spec.vocab.size());
  }
  if (model == "gpt2") {
    spec.alphabet = BpeSpec::Alphabet::byte_level;
    for (const auto& m : f.strings("tokenizer.ggml.merges")) {
      const size_t space = m.find(' ', 1);
      check(space != std::string::npos, "{}: tokenizer.ggml.merges entry '{}' is not two tokens", f.where(), m);
      spec.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
    spec.pre_tokenizer = gguf_pre_tokenizer(f);
  } else {
    // llama.cpp's SPM tokenizer: spaces as "▁" (one prepended when add_space_prefix),
    // no pre-tokenisation, unknown characters as <0xXX> byte pieces.
    const auto scores = f.numbers("tokenizer.ggml.scores");
    check(scores.size() == spec.vocab.size(), "{}: tokenizer.ggml.scores has {} entries for {} tokens", f.where(),
          scores.size(), spec.vocab.size());
    spec.alphabet = BpeSpec::Alphabet::sentencepiece;
    spec.merges = merges_from_scores(spec.vocab, scores, types);
    spec.replace_spaces = spec.byte_fallback = true;
    spec.prepend_space = spec.strip_leading_space_on_decode = f.boolean_or("tokenizer.ggml.add_space_prefix", true);
  }
  // Control (3) and user-defined (4) tokens are matched in text whole, as llama.cpp does
  // when it parses special tokens.
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] == 3 || types[i] == 4) spec.added.push_back({int32_t(i), spec.vocab[i], types[i] == 3});
  spec.gguf_pre = f.string_or("tokenizer.ggml.pre", "default");
  spec.bos = int32_t(f.integer_or("tokenizer.ggml.bos_token_id", -1));
  spec.eos = int32_t(f.integer_or("tokenizer.ggml.eos_token_id", -1));
  spec.pad = int32_t(f.integer_or("tokenizer.ggml.padding_token_id", -1));
  spec.unk = int32_t(f.integer_or("tokenizer.ggml.unknown_token_id", -1));
  spec.add_bos = f.boolean_or("tokenizer.ggml.add_bos_token", false);
  spec.add_eos = f.boolean_or("tokenizer.ggml.add_eos_token", false);
  spec.chat_template = f.string_or("tokenizer.chat_template", "");
  if (f.has("tokenizer.ggml.eot_token_id")) spec.stop_ids.push_back(int32_t(f.integer("tokenizer.ggml.eot_token_id")));
  for (const auto& a : spec.added)
    if (a.special && is_end_of_turn_text(a.content)) spec.stop_ids.push_back(a.id);
  // A byte-level vocabulary's unknown token is never produced by `tokenizers` (no
  // unk_token in their tokenizer.json); llama.cpp drops an unknown byte as well.
  if (model == "gpt2") spec.unk = -1;
  return spec;
}

// llama.cpp's converter stores q and k rows as (head, pair, half) for its interleaved
// RoPE; Hugging Face's rotate_half wants (head, half, pair).
static torch::Tensor unpermute_rope_rows(const torch::Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0), cols = w.size(1), D = rows / heads;
  return w.view({heads, D / 2, 2, cols}).transpose(1, 2).reshape({rows, cols});
}

// llama.cpp's tensor name for a Hugging Face Llama parameter (model.layers.N.<module> ->
// blk.N.<tensor>), both ways of the file: loading and export. `family_names`: the
// per-layer names in which a family differs (model/family.h), looked up first.
static std::string gguf_tensor_name(const std::string& hf,
                                    const std::vector<std::pair<std::string, std::string>>& family_names = {}) {
  static const std::vector<std::pair<std::string, std::string>> layer = {
      {"input_layernorm.weight", "attn_norm.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) == 0) {
    const size_t dot = hf.find('.', prefix.size());
    const std::string n = hf.substr(prefix.size(), dot - prefix.size()), rest = hf.substr(dot + 1);
    for (const auto* names : {&family_names, &layer})
      for (const auto& [h, g] : *names)
        if (rest == h) return "blk." + n + "." + g;
  }
  fail("tensor '{}' has no GGUF name (a LoRA adapter is merged first: elab export --merge)", hf);
}

Checkpoint load_gguf_checkpoint(const fs::path& path, const torch::Device& device) {
  GgufFile f = GgufFile::open(path.string());
  Checkpoint ck;
  ck.dir = path;
  ck.config = gguf_model_config(f);
  ck.tokenizer = Tokenizer(gguf_tokenizer_spec(f));
  check(ck.tokenizer.vocab_size() == ck.config.vocab_size, "{}: {} tokens for a vocabulary of {}", path.string(),
        ck.tokenizer.vocab_size(), ck.config.vocab_size);
  ck.meta = {{"source", "gguf"}, {"name", f.string_or("general.name", "")}, {"file_type", f.integer_or("general.file_type", -1)}};
  ck.model = Transformer(ck.config, /*seed=*/0, WeightInit::none);  // every weight is loaded

  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  const ModelFamily& family = find_family(ck.config.family, path.string());
  for (auto& [name, p] : named_weights(*ck.model)) {
    const std::string g = gguf_tensor_name(name, family.gguf_layer_names);
    used.insert(g);
    const GgufTensorInfo* t = f.find(g);
    check(t != nullptr, "{}: tensor '{}' is missing", path.string(), g);
    std::vector<int64_t> shape(t->dims.rbegin(), t->dims.rend());  // GGUF lists the contiguous dimension first
    check(torch::IntArrayRef(shape) == p.sizes(), "{}: tensor '{}' has shape {} but the metadata implies {}",
          path.string(), g, shape_string(shape), shape_string(p.sizes()));
    auto values = f.dequantized(*t);
    auto w = torch::from_blob(values.data(), shape, torch::kFloat);
    const bool permuted = family.gguf_permutes_rope;
    if (permuted && name.find("q_proj") != std::string::npos) w = unpermute_rope_rows(w, ck.config.n_heads);
    if (permuted && name.find("k_proj") != std::string::npos) w = unpermute_rope_rows(w, ck.config.n_kv_heads);
    p.copy_(w);
  }
  for (const auto& t : f.tensors())
    check(used.count(t.name) > 0, "{}: unexpected tensor '{}' (not part of a '{}' model as this build runs it)",
          path.string(), t.name, f.string_or("general.architecture", ""));
  ck.model->to(device);
  return ck;
}

// The inverse of unpermute_rope_rows: Hugging Face (head, half, pair) rows to llama.cpp's
// (head, pair, half).
static torch::Tensor permute_rope_rows(const torch::Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0), cols = w.size(1), D = rows / heads;
  return w.view({heads, 2, D / 2, cols}).transpose(1, 2).reshape({rows, cols});
}

static std::vector<std::pair<std::string, GgufValue>> tokenizer_metadata(const Tokenizer& tok) {
  std::vector<std::pair<std::string, GgufValue>> md;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  if (tok.is_bytes()) {
    for (int b = 0; b < 256; ++b) tokens.push_back(byte_level_char(uint8_t(b))), types.push_back(1);
    for (int id : {ByteTokenizer::kBos, ByteTokenizer::kEos, ByteTokenizer::kPad, ByteTokenizer::kSep})
      tokens.push_back(ByteTokenizer().token_text(id)), types.push_back(3);
    md = {{"tokenizer.ggml.model", gguf_string("gpt2")},
          {"tokenizer.ggml.pre", gguf_string("default")},
          {"tokenizer.ggml.tokens", gguf_strings(tokens)},
          {"tokenizer.ggml.token_type", gguf_i32s(types)},
          {"tokenizer.ggml.merges", gguf_strings({})},
          {"tokenizer.ggml.bos_token_id", gguf_u32(ByteTokenizer::kBos)},
          {"tokenizer.ggml.eos_token_id", gguf_u32(ByteTokenizer::kEos)},
          {"tokenizer.ggml.padding_token_id", gguf_u32(ByteTokenizer::kPad)},
          {"tokenizer.ggml.add_bos_token", gguf_bool(true)},
          {"tokenizer.ggml.add_eos_token", gguf_bool(false)}};
    return md;
  }
  const BpeSpec& s = tok.bpe()->spec();
  check(s.alphabet == BpeSpec::Alphabet::byte_level && !s.gguf_pre.empty(),
        "export --gguf: this tokenizer has no GGUF form here (only elab's byte tokenizer and tokenizers read from a "
        "GGUF file are written)");
  types.assign(s.vocab.size(), 1);
  for (const auto& a : s.added) types[size_t(a.id)] = a.special ? 3 : 4;
  std::vector<std::string> merges;
  for (const auto& [l, r] : s.merges) merges.push_back(l + " " + r);
  md = {{"tokenizer.ggml.model", gguf_string("gpt2")},
        {"tokenizer.ggml.pre", gguf_string(s.gguf_pre)},
        {"tokenizer.ggml.tokens", gguf_strings(s.vocab)},
        {"tokenizer.ggml.token_type", gguf_i32s(types)},
        {"tokenizer.ggml.merges", gguf_strings(merges)},
        {"tokenizer.ggml.add_bos_token", gguf_bool(s.add_bos)},
        {"tokenizer.ggml.add_eos_token", gguf_bool(s.add_eos)}};
  for (auto [key, id] : {std::pair{"tokenizer.ggml.bos_token_id", s.bos}, {"tokenizer.ggml.eos_token_id", s.eos},
                         {"tokenizer.ggml.padding_token_id", s.pad}})
    if (id >= 0) md.emplace_back(key, gguf_u32(uint32_t(id)));
  if (!s.chat_template.empty()) md.emplace_back("tokenizer.chat_template", gguf_string(s.chat_template));
  return md;
}

std::string encode_checkpoint_gguf(const Checkpoint& ck, GgmlType type) {
  check(type == GgmlType::f32 || type == GgmlType::f16 || type == GgmlType::q8_0,
        "export --gguf: type {} is not written (this build writes F32, F16 and Q8_0)", ggml_type_name(uint32_t(type)));
  check(!ck.model->has_prefix(), "export --gguf: a prefix-tuned model has no GGUF form (llama.cpp has no prefixes)");
  const ModelConfig& c = ck.config;
  std::vector<std::pair<std::string, GgufValue>> md = {
      {"general.architecture", gguf_string("llama")},
      {"general.name", gguf_string(ck.meta.value("name", ck.dir.filename().string()))},
      {"general.file_type", gguf_u32(type == GgmlType::f32 ? 0 : type == GgmlType::f16 ? 1 : 7)},
      {"llama.context_length", gguf_u32(uint32_t(c.max_seq_len))},
      {"llama.embedding_length", gguf_u32(uint32_t(c.d_model))},
      {"llama.block_count", gguf_u32(uint32_t(c.n_layers))},
      {"llama.feed_forward_length", gguf_u32(uint32_t(c.ffn_hidden))},
      {"llama.attention.head_count", gguf_u32(uint32_t(c.n_heads))},
      {"llama.attention.head_count_kv", gguf_u32(uint32_t(c.n_kv_heads))},
      {"llama.rope.freq_base", gguf_f32(float(c.rope_theta))},
      {"llama.attention.layer_norm_rms_epsilon", gguf_f32(float(c.norm_eps))},
      {"llama.rope.dimension_count", gguf_u32(uint32_t(c.head_dim()))},
      {"llama.vocab_size", gguf_u32(uint32_t(c.vocab_size))},
  };
  check(c.ffn_hidden > 0, "export --gguf: attention-only blocks have no GGUF form (llama.cpp needs an MLP per layer)");
  for (auto& kv : tokenizer_metadata(ck.tokenizer)) md.push_back(std::move(kv));

  std::vector<GgufTensorOut> tensors;
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : named_weights(*ck.model)) {
    auto w = p.detach().to(torch::kCPU, torch::kFloat).contiguous();
    if (name.find("q_proj") != std::string::npos) w = permute_rope_rows(w, c.n_heads).contiguous();
    if (name.find("k_proj") != std::string::npos) w = permute_rope_rows(w, c.n_kv_heads).contiguous();
    GgufTensorOut t;
    t.name = gguf_tensor_name(name);
    t.dims.assign(w.sizes().rbegin(), w.sizes().rend());
    t.type = w.dim() == 1 || (type == GgmlType::q8_0 && w.size(-1) % 32 != 0) ? GgmlType::f32 : type;
    const float* v = w.data_ptr<float>();
    const int64_t n = w.numel();
    if (t.type == GgmlType::f32) {
      t.bytes.assign(reinterpret_cast<const char*>(v), size_t(n) * 4);
    } else if (t.type == GgmlType::f16) {
      t.bytes.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = float_to_half(v[i]);
        std::memcpy(&t.bytes[size_t(i) * 2], &h, 2);
      }
    } else {
      t.bytes.resize(size_t(n / 32 * 34));
      quantize_q8_0(v, n, reinterpret_cast<uint8_t*>(t.bytes.data()));
    }
    tensors.push_back(std::move(t));
  }
  return encode_gguf(md, tensors);
}

}  // namespace elab
