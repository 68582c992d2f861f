#include "model/checkpoint.h"

#include <unistd.h>

#include <set>

#include "core/error.h"
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
      {"model.safetensors", encode_safetensors(named_weights(*model), {{"format", "pt"}})},
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

void load_named_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& params, const TensorFile& file,
                        const std::string& where) {
  torch::NoGradGuard no_grad;
  std::set<std::string> expected;
  for (const auto& [name, p] : params) {
    expected.insert(name);
    const torch::Tensor* t = file.find(name);
    check(t != nullptr, "{}: tensor '{}' is missing", where, name);
    check(t->sizes() == p.sizes(), "{}: tensor '{}' has shape {} but config.json implies {}", where, name,
          shape_string(t->sizes()), shape_string(p.sizes()));
    p.copy_(*t);
  }
  for (const auto& [name, t] : file.tensors)
    check(expected.count(name) > 0, "{}: unexpected tensor '{}' (not part of this model)", where, name);
}

Checkpoint load_checkpoint(const fs::path& dir, const torch::Device& device) {
  if (is_gguf_path(dir)) return load_gguf_checkpoint(dir, device);
  check(fs::is_directory(dir), "{}: checkpoint directory does not exist", dir.string());
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
    check(fs::exists(dir / f), "{}: missing {} (not a complete checkpoint)", dir.string(), f);
  Checkpoint ck;
  ck.dir = dir;
  ck.config = ModelConfig::from_hf_json(read_file(dir / "config.json"), (dir / "config.json").string());
  const std::string tokenizer_json = read_file(dir / "tokenizer.json");
  if (tokenizer_json.find("\"elab-bytes\"") != std::string::npos) {
    ByteTokenizer::from_json(tokenizer_json, (dir / "tokenizer.json").string());  // checks it
    ck.tokenizer = Tokenizer();
  } else {
    ck.tokenizer = load_hf_tokenizer(dir.string());
  }
  check(ck.config.vocab_size == ck.tokenizer.vocab_size(), "{}: vocab_size {} does not match tokenizer.json's {}",
        (dir / "config.json").string(), ck.config.vocab_size, ck.tokenizer.vocab_size());
  ck.meta = fs::exists(dir / "meta.json") ? read_json_file(dir / "meta.json") : nlohmann::json::object();
  ck.model = Transformer(ck.config, /*seed=*/0);
  auto weights = read_safetensors((dir / "model.safetensors").string());
  load_named_tensors(named_weights(*ck.model), weights, (dir / "model.safetensors").string());
  ck.model->to(device);
  return ck;
}

}  // namespace elab
