#pragma once
// Prompting methods by name (DESIGN.md "Method"): how a test item becomes a prompt and
// how the answer is read from what comes back. Registered in one table (method.cpp).
#include <string>
#include <vector>

#include "tasks/format.h"

namespace elab {

struct Method {
  std::string spec;   // as given: "icl:4"
  std::string kind;   // "direct", "icl", "cot"
  int shots = 0;      // K exemplars
  Format format = Format::direct;
};

struct MethodEntry {
  std::string kind;
  std::string grammar;      // "icl:K"
  std::string description;
};

const std::vector<MethodEntry>& method_registry();
// Parses a method string; malformed strings and unknown kinds are Errors that show the
// grammar and the valid names.
Method parse_method(const std::string& spec);

}  // namespace elab
