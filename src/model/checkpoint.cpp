#include "model/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "model/families.h"
#include "model/gguf_model.h"
#include "text/hf_tokenizer.h"

namespace elab {

nlohmann::json read_json_file(const fs::path& path) {
  check(fs::exists(path), "{}: file is missing", path.string());
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers too large for a double
    fail("{}: malformed JSON: {}", path.string(), e.what());
  }
}

void save_checkpoint(const fs::path& dir, Transformer& model, const nlohmann::json& meta,
                     const std::vector<NamedBytes>& extra_files, const Tokenizer& tokenizer) {
  std::string config = model->config.to_hf_json();
  if (const Bpe* bpe = tokenizer.bpe()) {  // the byte tokenizer's ids are to_hf_json's defaults
    auto j = nlohmann::ordered_json::parse(config);
    const auto& s = bpe->spec();
    for (auto [key, id] : {std::pair{"bos_token_id", s.bos}, {"eos_token_id", s.eos}, {"pad_token_id", s.pad}})
      j[key] = id >= 0 ? nlohmann::ordered_json(id) : nlohmann::ordered_json(nullptr);
    config = j.dump(2) + "\n";
  }
  std::vector<NamedBytes> files = {
      {"config.json", config},
      {"model.safetensors",
       encode_safetensors(tensors_to_family(model->config, named_weights(*model)), {{"format", "pt"}})},
      {"tokenizer.json", tokenizer.to_json()},
      {"meta.json", meta.dump(2) + "\n"},
  };
  if (!tokenizer.is_bytes()) files.push_back({"tokenizer_config.json", tokenizer.config_json()});
  files.insert(files.end(), extra_files.begin(), extra_files.end());
  write_directory(dir, files);
}

void write_directory(const fs::path& dir, const std::vector<NamedBytes>& files) {
  fs::path staged = staging_dir_for(dir);
  try {
    std::set<std::string> written;
    for (const auto& f : files) {
      write_file_atomic(staged / f.name, f.bytes);
      written.insert(f.name);
    }
    // Keep what else the directory holds (the training log, a user's notes, snapshots):
    // hard links share the inode, so a log still open for appending keeps writing into it.
    if (fs::is_directory(dir)) {
      for (const auto& entry : fs::directory_iterator(dir)) {
        auto name = entry.path().filename().string();
        if (written.count(name)) continue;
        if (entry.is_directory()) {  // snapshots/: linked file by file, the originals stay until the swap
          fs::copy(entry.path(), staged / name, fs::copy_options::recursive | fs::copy_options::create_hard_links);
          continue;
        }
        if (!entry.is_regular_file()) continue;
        if (::link(entry.path().c_str(), (staged / name).c_str()) != 0) fs::copy_file(entry.path(), staged / name);
      }
    }
    replace_dir_atomic(staged, dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staged, ec);
    throw;
  }
}

void load_named_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& params,
                        const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& where) {
  torch::NoGradGuard no_grad;
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, t] : tensors) {
    check(!by_name.count(name), "{}: tensor '{}' is stored twice", where, name);
    by_name[name] = &t;
  }
  std::set<std::string> expected;
  for (const auto& [name, p] : params) {
    expected.insert(name);
    auto it = by_name.find(name);
    check(it != by_name.end(), "{}: tensor '{}' is missing", where, name);
    const torch::Tensor& t = *it->second;
    check(t.sizes() == p.sizes(), "{}: tensor '{}' has shape {} but config.json implies {}", where, name,
          shape_string(t.sizes()), shape_string(p.sizes()));
    p.copy_(t);  // bf16 and fp16 files become the engine's float32
  }
  for (const auto& [name, t] : tensors)
    check(expected.count(name) > 0, "{}: unexpected tensor '{}' (not part of this model)", where, name);
}

bool has_weights(const fs::path& dir) {
  return fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json");
}

std::vector<fs::path> weight_files(const fs::path& dir) {
  if (fs::exists(dir / "model.safetensors")) return {dir / "model.safetensors"};
  const fs::path index_path = dir / "model.safetensors.index.json";
  check(fs::exists(index_path), "{}: missing model.safetensors (or model.safetensors.index.json)", dir.string());
  const auto index = read_json_file(index_path);
  check(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object() &&
            !index["weight_map"].empty(),
        "{}: expected a non-empty object 'weight_map'", index_path.string());
  std::vector<fs::path> files;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    check(file.is_string(), "{}: weight_map['{}'] must be a file name", index_path.string(), tensor);
    const fs::path name = file.get<std::string>();
    check(name.filename() == name && name.extension() == ".safetensors",
          "{}: weight_map['{}'] = '{}' is not a .safetensors file in the directory", index_path.string(), tensor,
          name.string());
    check(fs::exists(dir / name), "{}: shard {} (holding '{}') is missing", index_path.string(), name.string(), tensor);
    if (std::find(files.begin(), files.end(), dir / name) == files.end()) files.push_back(dir / name);
  }
  std::sort(files.begin(), files.end());
  return files;
}

Transformer load_weights(const fs::path& dir, ModelConfig& config, const torch::Device& device) {
  check(fs::is_directory(dir), "{}: checkpoint directory does not exist", dir.string());
  check(fs::exists(dir / "config.json"), "{}: missing config.json (not a complete checkpoint)", dir.string());
  config = ModelConfig::from_hf_json(read_file(dir / "config.json"), (dir / "config.json").string());
  const auto files = weight_files(dir);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& file : files) {
    auto part = read_safetensors(file.string());
    for (auto& named : part.tensors) tensors.push_back(std::move(named));
  }
  const std::string where = files.size() == 1 ? files[0].string() : fmt::format("{} (sharded)", dir.string());
  Transformer model(config, /*seed=*/0, WeightInit::none);  // every weight is loaded
  load_named_tensors(named_weights(*model), tensors_from_family(config, std::move(tensors), where), where);
  model->to(device);
  return model;
}

int64_t model_parameter_count(const fs::path& path) {
  if (is_gguf_path(path)) return gguf_model_config(GgufFile::open(path.string())).param_count();
  const fs::path config = path / "config.json";
  if (!fs::exists(config)) return 0;
  return ModelConfig::from_hf_json(read_file(config), config.string()).param_count();
}

Checkpoint load_checkpoint(const fs::path& dir, const torch::Device& device) {
  if (is_gguf_path(dir)) return load_gguf_checkpoint(dir, device);
  check(fs::is_directory(dir), "{}: checkpoint directory does not exist", dir.string());
  for (const char* f : {"config.json", "tokenizer.json"})
    check(fs::exists(dir / f), "{}: missing {} (not a complete checkpoint)", dir.string(), f);
  Checkpoint ck;
  ck.dir = dir;
  ck.config = ModelConfig::from_hf_json(read_file(dir / "config.json"), (dir / "config.json").string());
  weight_files(dir);  // a missing weight file or shard is reported before the tokenizer is read
  const std::string tokenizer_json = read_file(dir / "tokenizer.json");
  if (tokenizer_json.find("\"elab-bytes\"") != std::string::npos) {
    ByteTokenizer::from_json(tokenizer_json, (dir / "tokenizer.json").string());  // checks it
    ck.tokenizer = Tokenizer();
  } else {
    ck.tokenizer = load_hf_tokenizer(dir.string());
  }
  // Pretrained embeddings are often padded past the tokenizer (to a multiple of 64, say);
  // elab's own models match exactly.
  const bool exact = ck.tokenizer.is_bytes();
  check(exact ? ck.config.vocab_size == ck.tokenizer.vocab_size() : ck.config.vocab_size >= ck.tokenizer.vocab_size(),
        "{}: vocab_size {} does not match tokenizer.json's {}", (dir / "config.json").string(), ck.config.vocab_size,
        ck.tokenizer.vocab_size());
  ck.meta = fs::exists(dir / "meta.json") ? read_json_file(dir / "meta.json") : nlohmann::json::object();
  ck.model = load_weights(dir, ck.config, device);
  return ck;
}

}  // namespace elab
