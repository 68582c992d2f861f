#include "model/adapters.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "core/sha256.h"
#include "model/gguf_model.h"
#include "model/model_cache.h"

namespace elab {

static const std::vector<std::string> kProjections = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                      "gate_proj", "up_proj", "down_proj"};
static const std::string kPeftPrefix = "base_model.model.";

std::vector<std::string> parse_lora_targets(const std::string& spec) {
  if (spec == "all") return kProjections;
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string name = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.size() == 1) name += "_proj";
    check(std::find(kProjections.begin(), kProjections.end(), name) != kProjections.end(),
          "--lora-targets: unknown projection '{}' (choose from q, k, v, o, gate, up, down, or 'all')", name);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  check(!out.empty(), "--lora-targets is empty");
  return out;
}

// Every projection of the blocks named in `targets`, with its module path.
static std::vector<std::pair<std::string, std::shared_ptr<LinearImpl>>> projections(Transformer& model,
                                                                                    const std::vector<std::string>& targets) {
  std::vector<std::pair<std::string, std::shared_ptr<LinearImpl>>> out;
  for (const auto& item : model->model->layers->named_modules("model.layers")) {
    auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value());
    if (!linear) continue;
    const std::string& path = item.key();
    std::string leaf = path.substr(path.rfind('.') + 1);
    if (std::find(targets.begin(), targets.end(), leaf) != targets.end()) out.emplace_back(path, linear);
  }
  return out;
}

void attach_lora(Transformer& model, const LoraConfig& config, uint64_t seed) {
  check(config.rank > 0, "LoRA rank must be positive, got {}", config.rank);
  check(config.alpha > 0, "LoRA alpha must be positive, got {}", config.alpha);
  check(config.dropout >= 0 && config.dropout < 1, "LoRA dropout must be in [0, 1), got {}", config.dropout);
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  auto device = model->rope_cos.device();
  for (auto& [path, linear] : projections(model, config.targets)) {
    check(!linear->lora_A, "{} already carries a LoRA adapter", path);
    const int64_t out = linear->weight.size(0), in = linear->weight.size(1);
    auto a = std::make_shared<LinearImpl>(in, config.rank);
    auto b = std::make_shared<LinearImpl>(config.rank, out);
    const double bound = 1.0 / std::sqrt(double(in));
    a->weight.uniform_(-bound, bound, gen);
    b->weight.zero_();
    linear->lora_A = linear->register_module("lora_A", a);
    linear->lora_B = linear->register_module("lora_B", b);
    linear->lora_A->to(device);
    linear->lora_B->to(device);
    linear->lora_scale = config.alpha / double(config.rank);
    linear->lora_dropout = config.dropout;
  }
}

void merge_lora(Transformer& model) {
  torch::NoGradGuard no_grad;
  int merged = 0;
  for (auto& [path, linear] : projections(model, kProjections)) {
    if (!linear->lora_A) continue;
    linear->weight.add_(torch::matmul(linear->lora_B->weight, linear->lora_A->weight) * linear->lora_scale);
    linear->unregister_module("lora_A");
    linear->unregister_module("lora_B");
    linear->lora_A.reset();
    linear->lora_B.reset();
    ++merged;
  }
  check(merged > 0, "the model carries no LoRA adapter to merge");
}

std::vector<std::pair<std::string, torch::Tensor>> lora_weights(Transformer& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [path, linear] : projections(model, kProjections)) {
    if (!linear->lora_A) continue;
    out.emplace_back(kPeftPrefix + path + ".lora_A.weight", linear->lora_A->weight);
    out.emplace_back(kPeftPrefix + path + ".lora_B.weight", linear->lora_B->weight);
  }
  return out;
}

void attach_prefix_encoder(Transformer& model, const PrefixConfig& config, uint64_t seed) {
  const ModelConfig& c = model->config;
  check(config.length > 0 && config.length < c.max_seq_len,
        "prefix length must be between 1 and {} (below the model's context of {}), got {}", c.max_seq_len - 1,
        c.max_seq_len, config.length);
  const int64_t hidden = config.hidden > 0 ? config.hidden : 2 * c.d_model;
  PrefixEncoder encoder(config.length, c.d_model, hidden, c.n_layers, c.n_kv_heads, c.head_dim());
  {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed);
    encoder->embedding.normal_(0.0, 1.0, gen);
    encoder->up->weight.uniform_(-1.0 / std::sqrt(double(c.d_model)), 1.0 / std::sqrt(double(c.d_model)), gen);
    encoder->up->bias.zero_();
    // Small prefixes at first: the base model's behaviour is disturbed as little as possible.
    encoder->down->weight.normal_(0.0, c.init_std, gen);
    encoder->down->bias.zero_();
  }
  encoder->to(model->rope_cos.device());
  model->prefix_encoder = model->register_module("prefix_encoder", encoder);
}

void freeze_prefix(Transformer& model) {
  check(bool(model->prefix_encoder), "the model has no prefix encoder to freeze");
  torch::NoGradGuard no_grad;
  model->set_prefix(model->prefix_encoder->forward().contiguous());
  model->unregister_module("prefix_encoder");
  model->prefix_encoder = nullptr;
}

torch::Tensor prefix_key_values(Transformer& model) {
  std::vector<torch::Tensor> layers;
  for (auto& m : *model->model->layers) {
    auto attn = m->as<DecoderLayerImpl>()->self_attn;
    check(attn->prefix_k.defined(), "the model carries no prefix");
    layers.push_back(torch::stack({attn->prefix_k, attn->prefix_v}));  // (2, K, L, D)
  }
  return torch::stack(layers);
}

namespace {

// The files a model's content hash covers: a GGUF file is the whole model; a directory is
// its config and weights.
std::vector<fs::path> hashed_files(const fs::path& dir) {
  if (is_gguf_path(dir)) return {dir};
  std::vector<fs::path> files = {dir / "config.json"};
  for (const auto& f : weight_files(dir)) files.push_back(f);
  for (const auto& f : files) check(fs::is_regular_file(f), "{}: cannot read {}", dir.string(), f.filename().string());
  return files;
}

// What identifies the files' state without reading them (core/sha256.h).
std::string file_state(const std::vector<fs::path>& files) {
  std::string state;
  for (const auto& f : files)
    state += file_identity(f) + ";";
  return state;
}

std::string legacy_fnv_hash(const std::vector<fs::path>& files) {
  Hasher h;
  read_files_in_chunks(files, [&](std::string_view bytes) { h.add(bytes); });
  return h.hex();
}

// One hash per (algorithm, file state) for the process: a study's jobs ask for the same
// base's hash again and again (every adapter evaluation, every fine-tuning job).
std::string cached_hash(const std::vector<fs::path>& files, bool legacy) {
  static std::mutex mutex;
  static std::map<std::string, std::string> hashes;
  const std::string key = (legacy ? "fnv:" : "sha256:") + file_state(files);
  {
    std::lock_guard lock(mutex);
    if (auto it = hashes.find(key); it != hashes.end()) return it->second;
  }
  std::string h = legacy ? legacy_fnv_hash(files) : sha256_of_files(files);
  std::lock_guard lock(mutex);
  return hashes[key] = h;
}

}  // namespace

std::string checkpoint_hash(const fs::path& dir) { return cached_hash(hashed_files(dir), false); }

bool checkpoint_hash_matches(const fs::path& dir, const std::string& recorded) {
  const auto files = hashed_files(dir);
  return recorded.size() == 16 ? cached_hash(files, true) == recorded : cached_hash(files, false) == recorded;
}

std::string adapter_type(const fs::path& dir) {
  if (!fs::exists(dir / "adapter_config.json")) return "";
  auto cfg = read_json_file(dir / "adapter_config.json");
  std::string peft = cfg.value("peft_type", "");
  if (peft == "LORA") return "lora";
  if (peft == "PREFIX_TUNING") return "prefix";
  fail("{}: unknown peft_type '{}' (elab reads LORA and PREFIX_TUNING)", (dir / "adapter_config.json").string(), peft);
}

void save_adapter(const fs::path& dir, Transformer& model, const fs::path& base_dir, const nlohmann::json& adapter_config,
                  const nlohmann::json& meta, const std::vector<NamedBytes>& extra_files) {
  nlohmann::json cfg = adapter_config;
  const fs::path base_abs = fs::absolute(base_dir).lexically_normal();
  cfg["base_model_name_or_path"] = base_abs.string();
  cfg["base_relative"] = base_abs.lexically_relative(fs::absolute(dir).lexically_normal()).string();
  cfg["base_hash"] = checkpoint_hash(base_dir);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  if (cfg.value("peft_type", "") == "LORA")
    tensors = lora_weights(model);
  else
    tensors = {{"prefix_key_values", prefix_key_values(model)}};
  std::vector<NamedBytes> files = {
      {"adapter_config.json", cfg.dump(2) + "\n"},
      {"adapter_model.safetensors", encode_safetensors(tensors, {{"format", "pt"}})},
      {"meta.json", meta.dump(2) + "\n"},
  };
  files.insert(files.end(), extra_files.begin(), extra_files.end());
  write_directory(dir, files);
}

// The base directory an adapter names: its absolute path, else the path relative to the
// adapter (so a study folder can be moved as a whole).
static fs::path find_base(const fs::path& dir, const nlohmann::json& cfg) {
  const fs::path recorded = cfg.value("base_model_name_or_path", "");
  const fs::path relative = dir / cfg.value("base_relative", "");
  auto is_model = [](const fs::path& p) { return has_weights(p) || is_gguf_path(p); };
  if (!recorded.empty() && is_model(recorded)) return recorded;
  if (!cfg.value("base_relative", "").empty() && is_model(relative)) return relative;
  fail("{}: the adapter's base model {} is missing (not found there nor at {})", dir.string(), recorded.string(),
       relative.lexically_normal().string());
}

Checkpoint load_model_dir(const fs::path& dir, const torch::Device& device) {
  if (is_gguf_path(dir)) return load_checkpoint_cached(dir, device);
  check(dir.extension() != ".gguf", "{}: GGUF file does not exist", dir.string());
  check(fs::is_directory(dir), "{}: model directory does not exist", dir.string());
  const std::string type = adapter_type(dir);
  if (type.empty()) return load_checkpoint_cached(dir, device);

  const fs::path cfg_path = dir / "adapter_config.json";
  auto cfg = read_json_file(cfg_path);
  const fs::path base = find_base(dir, cfg);
  const std::string want = cfg.value("base_hash", "");
  const std::string have = checkpoint_hash_matches(base, want) ? want : checkpoint_hash(base);
  check(want == have,
        "{}: the base model {} has changed since the adapter was trained (content hash {}, adapter expects {})",
        dir.string(), base.string(), have, want);
  Checkpoint ck = load_checkpoint_cached(base, device);
  const fs::path weights_path = dir / "adapter_model.safetensors";
  check(fs::exists(weights_path), "{}: adapter_model.safetensors is missing", dir.string());
  auto file = read_safetensors(weights_path.string());
  if (type == "lora") {
    LoraConfig lc;
    try {
      lc.rank = cfg.at("r").get<int64_t>();
      lc.alpha = cfg.at("lora_alpha").get<double>();
      lc.targets = cfg.at("target_modules").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      fail("{}: bad LoRA settings: {}", cfg_path.string(), e.what());
    }
    for (const auto& t : lc.targets)
      check(std::find(kProjections.begin(), kProjections.end(), t) != kProjections.end(),
            "{}: unknown target module '{}'", cfg_path.string(), t);
    attach_lora(ck.model, lc, 0);
    load_named_tensors(lora_weights(ck.model), file.tensors, weights_path.string());
  } else {
    const torch::Tensor* kv = file.find("prefix_key_values");
    check(kv != nullptr && file.tensors.size() == 1, "{}: expected one tensor 'prefix_key_values'",
          weights_path.string());
    const ModelConfig& c = ck.config;
    check(kv->dim() == 5 && kv->size(0) == c.n_layers && kv->size(1) == 2 && kv->size(2) == c.n_kv_heads &&
              kv->size(4) == c.head_dim() && kv->size(3) < c.max_seq_len,
          "{}: prefix_key_values has shape {}, the base needs [{}, 2, {}, L, {}] with L below {}", weights_path.string(),
          shape_string(kv->sizes()), c.n_layers, c.n_kv_heads, c.head_dim(), c.max_seq_len);
    ck.model->set_prefix(kv->to(device, torch::kFloat));
  }
  ck.dir = dir;
  ck.meta = fs::exists(dir / "meta.json") ? read_json_file(dir / "meta.json") : nlohmann::json::object();
  ck.meta["base"] = base.string();
  return ck;
}

}  // namespace elab
