#include "backends/registry.h"

#include <cstdlib>
#include <functional>
#include <map>

#include "backends/native.h"
#include "backends/openai.h"
#include "backends/replay.h"
#include "core/error.h"
#include "model/adapters.h"
#include "model/device.h"

namespace elab {

using BackendFactory = std::function<std::unique_ptr<Backend>(const std::string& rest, const BackendOptions&)>;

// Backends with a scheme prefix ("scheme:rest"); anything else is a model directory.
static const std::map<std::string, BackendFactory>& schemes() {
  static const std::map<std::string, BackendFactory> table = {
      {"openai",
       [](const std::string& rest, const BackendOptions& o) {
         OpenAIOptions oo = parse_openai_spec(rest);
         oo.concurrency = o.concurrency;
         oo.timeout_seconds = o.timeout_seconds;
         oo.max_retries = o.max_retries;
         oo.chat = o.chat;
         oo.cache_path = o.cache_path;
         return make_openai_backend(oo);
       }},
      {"replay", [](const std::string& rest, const BackendOptions&) { return make_replay_backend(rest); }},
  };
  return table;
}

std::unique_ptr<Backend> make_backend(const std::string& model, const BackendOptions& options) {
  const auto colon = model.find(':');
  if (colon != std::string::npos) {
    auto it = schemes().find(model.substr(0, colon));
    if (it != schemes().end()) return it->second(model.substr(colon + 1), options);
  }
  auto native = std::make_unique<NativeBackend>(load_model_dir(model, parse_device(options.device)));
  native->workers = options.workers;
  return native;
}

std::string default_cache_path() {
  if (const char* dir = std::getenv("ELAB_CACHE_DIR"); dir && *dir) return std::string(dir) + "/openai.sqlite";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/elab/openai.sqlite";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/elab/openai.sqlite";
  return ".elab-cache/openai.sqlite";
}

}  // namespace elab
