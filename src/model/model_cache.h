#pragma once
// Models loaded once per process. A study worker evaluates one base with many tasks and
// methods, fine-tunes it in several folds and a refit, and evaluates the adapters made on
// it: each of those used to read (and, for GGUF, dequantise) the same files again. With
// the cache on, the first load keeps a pristine copy and every caller gets its own deep
// copy of it (fine-tuning changes weights; 8-bit decoding converts them), so callers stay
// independent. A copy is keyed by the files' state (path, size, modification time) and
// device, so a file rewritten on disk is read again. Off by default: a command that loads
// one model once would only pay for the extra copy. Torch-dependent.
#include <cstdint>

#include "model/checkpoint.h"

namespace elab {

// Keeps up to `bytes` of pristine models (least recently used dropped first); 0 turns the
// cache off and empties it. ELAB_MODEL_CACHE_MB, when set, overrides `bytes`.
void enable_model_cache(int64_t bytes);
// What a study turns on: a quarter of the machine's memory, at most 8 GiB.
int64_t default_model_cache_bytes();

// load_checkpoint through the cache (a plain load_checkpoint while it is off).
Checkpoint load_checkpoint_cached(const fs::path& path, const torch::Device& device = torch::kCPU);

struct ModelCacheStats {
  int64_t loads = 0;  // models read from their files
  int64_t hits = 0;   // copies handed out without reading
  int64_t bytes = 0;  // pristine models held now
};
ModelCacheStats model_cache_stats();

}  // namespace elab
