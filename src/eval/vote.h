#pragma once
// Choosing one answer from several chains: majority vote (self-consistency) and the
// complexity ranking of chains (complexity-based prompting).
#include <string>
#include <vector>

namespace elab {

// The most frequent non-empty answer; a tie goes to the answer that appeared first.
// "" when every extraction failed. Answers must already be normalised.
std::string majority_vote(const std::vector<std::string>& answers);

// Reasoning steps of a generated chain: its non-empty lines before the final answer line.
int chain_steps(const std::string& output);

// Indices of the `m` chains with the most steps (ties: the earlier chain first).
std::vector<size_t> most_complex(const std::vector<std::string>& outputs, int m);

}  // namespace elab
