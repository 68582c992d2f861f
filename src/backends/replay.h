#pragma once
// The replay backend (--model replay:FILE): recorded predictions, scored like live ones.
#include <memory>
#include <string>

#include "eval/backend.h"

namespace elab {

std::unique_ptr<Backend> make_replay_backend(const std::string& path);

}  // namespace elab
