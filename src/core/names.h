#pragma once
// Errors for unknown names: they list the valid names and suggest the closest one; and
// names (flag values) read as numbers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elab {

[[noreturn]] void fail_unknown(const std::string& kind, const std::string& name,
                               const std::vector<std::string>& valid);
size_t edit_distance(const std::string& a, const std::string& b);

// The whole of `text` as an integer / a number; nullopt when it is not one (or has more).
std::optional<int64_t> parse_integer(const std::string& text);
std::optional<double> parse_number(const std::string& text);

}  // namespace elab
