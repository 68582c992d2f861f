#include "model/model_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <list>
#include <mutex>

#include "core/error.h"
#include "core/sha256.h"
#include "model/gguf_model.h"

namespace elab {

namespace {

struct Entry {
  std::string key;
  Checkpoint pristine;
  int64_t bytes = 0;
};

struct Cache {
  std::mutex mutex;
  int64_t budget = 0;
  std::list<Entry> entries;  // most recently used first
  ModelCacheStats stats;
};

Cache& cache() {
  static Cache c;
  return c;
}

int64_t model_bytes(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel() * int64_t(p.element_size());
  for (const auto& b : m.buffers()) n += b.numel() * int64_t(b.element_size());
  return n;
}

// The files a load reads, and their state: what makes a cached copy stale.
std::string state_key(const fs::path& path, const torch::Device& device) {
  std::vector<fs::path> files;
  if (is_gguf_path(path)) {
    files = {path};
  } else {
    for (const char* f : {"config.json", "tokenizer.json", "meta.json"})
      if (fs::exists(path / f)) files.push_back(path / f);
    for (const auto& f : weight_files(path)) files.push_back(f);
  }
  std::string key = device.str() + "|";
  for (const auto& f : files)
    key += file_identity(f) + ";";
  return key;
}

// A deep copy: a model of the same configuration whose every parameter and buffer is a
// clone of the original's (dtype and device included). set_data keeps each tensor's
// identity, so the modules' own handles (rope tables, projections) see the clones. The
// pristine copy is never handed out, so it never carries 8-bit weights or adapters.
Checkpoint deep_copy(const Checkpoint& from) {
  Checkpoint to = from;
  to.model = Transformer(from.config, /*seed=*/0, WeightInit::none);
  torch::NoGradGuard no_grad;
  auto src_params = from.model->named_parameters(), dst_params = to.model->named_parameters();
  check(src_params.size() == dst_params.size(), "model cache: a copy of {} has other parameters", from.dir.string());
  for (const auto& p : src_params) {
    auto* dst = dst_params.find(p.key());
    check(dst != nullptr, "model cache: a copy of {} lacks parameter {}", from.dir.string(), p.key());
    dst->set_data(p.value().detach().clone());
    dst->set_requires_grad(p.value().requires_grad());
  }
  auto src_buffers = from.model->named_buffers(), dst_buffers = to.model->named_buffers();
  for (const auto& b : src_buffers)
    if (auto* dst = dst_buffers.find(b.key())) dst->set_data(b.value().clone());
  to.model->train(from.model->is_training());
  return to;
}

}  // namespace

int64_t default_model_cache_bytes() {
  const int64_t pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const int64_t quarter = pages > 0 && page > 0 ? pages * page / 4 : int64_t(1) << 30;
  return std::min<int64_t>(quarter, int64_t(8) << 30);
}

void enable_model_cache(int64_t bytes) {
  if (const char* mb = std::getenv("ELAB_MODEL_CACHE_MB")) bytes = std::max<int64_t>(0, std::atoll(mb)) << 20;
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.budget = std::max<int64_t>(0, bytes);
  while (!c.entries.empty() && c.stats.bytes > c.budget) {
    c.stats.bytes -= c.entries.back().bytes;
    c.entries.pop_back();
  }
}

Checkpoint load_checkpoint_cached(const fs::path& path, const torch::Device& device) {
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    if (c.budget == 0) return load_checkpoint(path, device);
  }
  // Anything but a complete model is load_checkpoint's to refuse, with its messages.
  if (!is_gguf_path(path) && !(fs::is_directory(path) && fs::exists(path / "config.json") && has_weights(path)))
    return load_checkpoint(path, device);
  const std::string key = state_key(path, device);
  {
    std::lock_guard lock(c.mutex);
    for (auto it = c.entries.begin(); it != c.entries.end(); ++it)
      if (it->key == key) {
        c.entries.splice(c.entries.begin(), c.entries, it);
        ++c.stats.hits;
        return deep_copy(c.entries.front().pristine);
      }
  }
  // Loaded outside the lock: another worker may load another model meanwhile (two
  // workers that miss the same model at once both read it; the second keeps its own).
  Checkpoint loaded = load_checkpoint(path, device);
  const int64_t bytes = model_bytes(*loaded.model);
  std::lock_guard lock(c.mutex);
  ++c.stats.loads;
  if (bytes > c.budget) return loaded;
  Checkpoint copy = deep_copy(loaded);
  c.entries.push_front({key, std::move(loaded), bytes});
  c.stats.bytes += bytes;
  while (c.stats.bytes > c.budget) {
    c.stats.bytes -= c.entries.back().bytes;
    c.entries.pop_back();
  }
  return copy;
}

ModelCacheStats model_cache_stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.stats;
}

}  // namespace elab
