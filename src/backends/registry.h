#pragma once
// Backends by the --model string: a checkpoint directory selects the native backend.
#include <memory>
#include <string>

#include "eval/backend.h"

namespace elab {

std::unique_ptr<Backend> make_backend(const std::string& model, const std::string& device);

}  // namespace elab
