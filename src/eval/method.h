#pragma once
// Prompting methods by name (DESIGN.md "Method"): how test items become prompts, how
// many continuations are drawn, and how one answer is chosen from them. Registered in
// one table (method.cpp); `elab methods list` prints it.
#include <string>
#include <vector>

#include "tasks/format.h"

namespace elab {

struct Method {
  std::string spec;          // as given: "sc:4:8"
  std::string kind;          // direct, icl, cot, sc, complex
  int shots = 0;             // K exemplars
  Format format = Format::direct;
  int samples = 1;           // N continuations per item
  double temperature = 0;    // 0: greedy
  int vote_top = 0;          // complex: vote among the M chains with the most steps
  std::string probe;         // icl probes: "", "random-labels", "flipped", "no-question"
  bool complex_exemplars = false;  // complex: the K exemplars with the most rationale steps
};

struct MethodEntry {
  std::string kind;
  std::string grammar;      // "sc:K:N[:T]"
  std::string description;
};

const std::vector<MethodEntry>& method_registry();
// Parses a method string; malformed strings and unknown kinds are Errors that show the
// grammar and the valid names.
Method parse_method(const std::string& spec);

}  // namespace elab
