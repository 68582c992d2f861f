#pragma once
// Prompting methods by name (DESIGN.md "Method"): how test items become prompts, how
// many continuations are drawn, and how one answer is chosen from them. Each method is
// one file under eval/methods/ that returns its MethodEntry, and one line in the table
// of method.cpp; `elab methods list` prints the table. Torch-free.
#include <functional>
#include <string>
#include <vector>

#include "tasks/format.h"

namespace elab {

// How the answer of one item is chosen from its continuations.
enum class Aggregation {
  single,          // one continuation: its answer
  majority,        // the most frequent extracted answer (self-consistency)
  longest_chains,  // the majority among the vote_top chains with the most steps (complexity-based)
};

// Which exemplars the prompt shows.
enum class ExemplarPolicy {
  drawn,         // K drawn from the exemplar pool
  most_complex,  // the K with the most rationale steps among a larger draw
};

struct Method {
  std::string spec;          // as given: "sc:4:8"
  std::string kind;          // the registry entry: direct, icl, cot, sc, complex
  int shots = 0;             // K exemplars
  Format format = Format::direct;  // of exemplars and the expected answer
  int samples = 1;           // N continuations per item
  double temperature = 0;    // 0: greedy
  Aggregation aggregation = Aggregation::single;
  int vote_top = 0;          // longest_chains: vote among the M chains with the most steps
  ExemplarPolicy exemplars = ExemplarPolicy::drawn;
  std::string probe;         // icl probes: "", "random-labels", "flipped", "no-question"
  std::string unprobed;      // a probe's reference method (icl:K for icl:K:flipped); "" else
  // A probe's change to the drawn exemplars (their labels); null = shown as drawn.
  std::function<void(const Task&, std::vector<Example>&)> corrupt_exemplars;
  bool answers_only = false;  // exemplars without their questions ("A: ..." alone)
  // chat:METHOD: the same prompt in the model's chat template (eval/evaluate.h
  // chat_prompt): each exemplar a user turn and an assistant turn, the item a user turn.
  bool chat = false;
  // mc:K: no generation; each option of the item's closed answer set is scored by its
  // log-likelihood after the prompt, and the most likely one is the answer
  // (lm-evaluation-harness's multiple choice: acc, and acc_norm per character).
  bool likelihood = false;

  bool chain() const { return format_def(format).chain; }  // the answer ends a rationale
  // Plain in-context learning: exemplars in direct format, no probe (the report's icl:K).
  bool in_context() const { return shots > 0 && !chain() && probe.empty(); }
};

// The parts of a method string after its kind ("sc:4:8" -> "4", "8"), with readers that
// report a malformed part against the method's grammar.
struct MethodArgs {
  std::string spec, grammar;
  std::vector<std::string> parts;  // after the kind

  void arity(size_t lo, size_t hi) const;  // an Error unless lo <= parts <= hi
  int count(size_t i, const std::string& what, int min) const;
  double real(size_t i, const std::string& what) const;
  [[noreturn]] void error(const std::string& message) const;
  // KIND:K with K >= 0 exemplars rendered in `format`, greedy (cot:K, reverse:K).
  Method shots_in(Format format) const;
};

struct MethodEntry {
  std::string kind;
  std::string grammar;      // "sc:K:N[:T]"
  std::string description;
  std::function<Method(const MethodArgs&)> parse;  // spec and kind are filled in by parse_method
};

const std::vector<MethodEntry>& method_registry();
// Adds a method at run time (tests, plug-ins); an Error when the kind exists.
void register_method(MethodEntry entry);
// Parses a method string; malformed strings and unknown kinds are Errors that show the
// grammar and the valid names. A "chat:" prefix applies to any method (chat:icl:8).
Method parse_method(const std::string& spec);

// The built-in methods, one file each (eval/methods/).
MethodEntry direct_method();
MethodEntry icl_method();
MethodEntry cot_method();
MethodEntry self_consistency_method();
MethodEntry complexity_method();
MethodEntry reverse_method();
MethodEntry mc_method();

}  // namespace elab
