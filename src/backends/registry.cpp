#include "backends/registry.h"

#include "backends/native.h"
#include "model/adapters.h"
#include "core/error.h"
#include "model/device.h"

namespace elab {

std::unique_ptr<Backend> make_backend(const std::string& model, const std::string& device) {
  auto colon = model.find(':');
  std::string scheme = colon == std::string::npos ? "" : model.substr(0, colon);
  check(scheme != "openai" && scheme != "replay",
        "--model {}: the {} backend is not part of this build yet; use a checkpoint directory", model, scheme);
  return std::make_unique<NativeBackend>(load_model_dir(model, parse_device(device)));
}

}  // namespace elab
