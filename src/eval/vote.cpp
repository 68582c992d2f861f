#include "eval/vote.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <sstream>

namespace elab {

std::string majority_vote(const std::vector<std::string>& answers) {
  std::map<std::string, std::pair<int, size_t>> tally;  // answer -> (votes, first position)
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].empty()) continue;  // failed extractions do not vote
    auto [it, inserted] = tally.emplace(answers[i], std::make_pair(0, i));
    it->second.first += 1;
  }
  std::string best;
  int votes = 0;
  size_t first = 0;
  for (const auto& [answer, t] : tally)
    if (t.first > votes || (t.first == votes && t.second < first)) best = answer, votes = t.first, first = t.second;
  return best;
}

int chain_steps(const std::string& output) {
  std::istringstream in(output);
  int steps = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("answer is") != std::string::npos) break;
    if (line.find_first_not_of(" \t") != std::string::npos) ++steps;
  }
  return steps;
}

std::vector<size_t> most_complex(const std::vector<std::string>& outputs, int m) {
  std::vector<size_t> order(outputs.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int> steps;
  for (const auto& o : outputs) steps.push_back(chain_steps(o));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return steps[a] > steps[b]; });
  order.resize(std::min(order.size(), size_t(std::max(0, m))));
  return order;
}

}  // namespace elab
