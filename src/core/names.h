#pragma once
// Errors for unknown names: they list the valid names and suggest the closest one.
#include <string>
#include <vector>

namespace elab {

[[noreturn]] void fail_unknown(const std::string& kind, const std::string& name,
                               const std::vector<std::string>& valid);
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace elab
