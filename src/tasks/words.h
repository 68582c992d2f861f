#pragma once
// Word lists shared by the generated tasks that talk about people and things.
#include <string>
#include <vector>

namespace elab {

const std::vector<std::string>& first_names();  // 64 names
const std::vector<std::string>& object_words();  // 32 countable things ("apples")

}  // namespace elab
