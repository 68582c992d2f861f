#include "report/findings.h"

#include <fmt/format.h>

#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace elab {

std::string Finding::agreement() const {
  if (!counts()) return "does not count: " + invalid;
  if (!resolved()) return "not resolved";
  if (margin) {
    return equivalent() ? fmt::format("as published (equivalent within ±{:.2f})", *margin)
                        : fmt::format("contrary to the published result (which finds no difference; the CI lies beyond ±{:.2f})",
                                      *margin);
  }
  const int sign = effect > 0 ? 1 : -1;
  if (!published_sign) return "no published direction";
  if (*published_sign == 0) return "contrary to the published result (which finds no difference)";
  return sign == *published_sign ? "as published" : "contrary to the published result";
}

Finding make_finding(const std::string& question, const std::string& claim, const std::string& comparison,
                     const PairedDifference& d, const std::string& literature, std::optional<int> published_sign,
                     std::optional<double> margin) {
  check(!published_sign || *published_sign != 0 || (margin && *margin > 0),
        "the claim '{}' ({}) is a claim of no difference: it needs an equivalence margin", claim, literature);
  check(!margin || (published_sign && *published_sign == 0), "the claim '{}' has a margin but is not a claim of no difference",
        claim);
  Finding f{question, claim, comparison, d.diff, d.lo, d.hi, literature, published_sign};
  f.margin = margin;
  return f;
}

// How far a finding stands out, for picking a question's or a claim's headline: resolved
// first, then those that count; then the largest distance of the interval from zero.
static double prominence(const Finding& f) {
  return (f.resolved() ? 10.0 : 0.0) + (f.counts() ? 5.0 : 0.0) + std::max(f.lo, -f.hi);
}

std::string counting_rules() {
  return fmt::format(
      "A comparison counts only when its cells work: each is above its best trivial baseline (always giving the most "
      "frequent answer, or chance over a closed answer set) by the lower end of its CI, and leaves at most {:.0f}% of its "
      "items unanswered. A side whose fall to its baseline is the claim (a label probe, retention after fine-tuning, the "
      "smaller model of a scale comparison, the weaker of two pre-training recipes) need only answer, and a fine-tuned "
      "model that answers every item as its base does is not compared. Comparisons that do not count are never resolved "
      "and state no agreement. A claim of no difference (Mosbach et al. 2023: comparable; no chain-of-thought gain below "
      "~62B) is judged by two one-sided tests with a margin of ±{:.2f}: supported when the 95% CI lies inside it, "
      "contradicted when it lies beyond.",
      100 * kMaxUnanswered, kMosbachMargin);
}

const Finding* QuestionAnswer::headline() const {
  const Finding* best = nullptr;
  for (const auto& f : findings)
    if (!best || prominence(f) > prominence(*best)) best = &f;
  return best;
}

std::vector<ClaimSummary> QuestionAnswer::claims() const {
  std::vector<ClaimSummary> out;
  for (const auto& f : findings) {
    auto it = std::find_if(out.begin(), out.end(), [&](const ClaimSummary& c) { return c.claim == f.claim; });
    if (it == out.end()) it = out.insert(out.end(), ClaimSummary{f.claim, 0, 0, 0, nullptr});
    ++it->comparisons;
    it->resolved += f.resolved();
    it->not_counted += !f.counts();
    if (!it->farthest || prominence(f) > prominence(*it->farthest)) it->farthest = &f;
  }
  return out;
}

int QuestionAnswer::not_counted() const {
  int n = 0;
  for (const auto& f : findings) n += !f.counts();
  return n;
}

int QuestionAnswer::resolved() const {
  int n = 0;
  for (const auto& f : findings) n += f.resolved();
  return n;
}

std::string QuestionAnswer::answer() const {
  const Finding* h = headline();
  if (!h) return "not resolved at this budget: the study has no comparison for this question";
  const std::string effect = fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", h->effect, h->lo, h->hi);
  const int not_counted = this->not_counted();
  if (!h->counts())
    return fmt::format("no comparison counts: in each, a cell is not above its trivial baselines or leaves more than {:.0f}% "
                       "unanswered ({} of {}; e.g. {})",
                       100 * kMaxUnanswered, not_counted, findings.size(), h->invalid);
  const std::string excluded =
      not_counted ? fmt::format("; {} of {} comparisons do not count (a cell at its trivial baseline or a format failure)",
                                not_counted, findings.size())
                  : "";
  if (!h->resolved())
    return fmt::format("not resolved at this budget: no comparison that counts is resolved (closest: {}, {}){}", h->comparison,
                       effect, excluded);
  std::string out = fmt::format("{}: {} ({}; {} of {} comparisons resolved{}); {} ({})", h->claim, effect, h->comparison,
                                 resolved(), findings.size(), excluded, h->agreement(), h->literature);
  // The question's other claims, each by its farthest comparison from zero.
  for (const auto& c : claims()) {
    if (c.claim == h->claim) continue;
    const Finding& b = *c.farthest;
    out += fmt::format(". Beside it, {}: {} of {} resolved, farthest {:+.3f} [{:+.3f}, {:+.3f}] ({}; {})", c.claim, c.resolved,
                       c.comparisons, b.effect, b.lo, b.hi, b.comparison, b.agreement());
  }
  return out;
}

std::string QuestionAnswer::brief() const {
  const Finding* h = headline();
  if (!h) return "No comparison in this study answers it.";
  const std::string effect = fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", h->effect, h->lo, h->hi);
  const int not_counted = this->not_counted();
  const std::string tally =
      fmt::format("{} of {} comparisons resolved{}.", resolved(), findings.size(),
                  not_counted ? fmt::format(", {} do not count (a cell at its trivial baseline or a format failure)", not_counted) : "");
  // The published result by its authors alone ("Mosbach et al. 2023 (...)" -> "Mosbach et al. 2023").
  const std::string who = h->literature.substr(0, h->literature.find(" ("));
  if (!h->counts()) return fmt::format("No comparison counts. {} Published: {}.", tally, who);
  if (!h->resolved())
    return fmt::format("Not resolved at this budget: the closest is {}, {}. {} Published: {}.", h->comparison, effect, tally, who);
  std::string agreement = h->agreement();
  agreement[0] = char(std::toupper(agreement[0]));
  std::string claim = h->claim;
  claim[0] = char(std::toupper(claim[0]));
  return fmt::format("Resolved. {}: {} ({}). {} {}: {}.", claim, effect, h->comparison, tally, agreement, who);
}

std::vector<QuestionAnswer> answers(const std::vector<Finding>& findings) {
  std::vector<QuestionAnswer> out = {
      {"Q1", "Is in-context learning a kind of supervised learning?", {}},
      {"Q2", "Prompting or fine-tuning, on the same base and the same examples, in and out of distribution?", {}},
      {"Q3", "How big must a model be before chain-of-thought beats direct answers?", {}},
      {"Q4", "Does the data (its distribution, instructions, code, rationales) matter as much as scale?", {}},
  };
  for (const auto& f : findings)
    for (auto& q : out)
      if (q.question == f.question) q.findings.push_back(f);
  return out;
}

static nlohmann::json finding_json(const Finding& f) {
  return {{"claim", f.claim},           {"comparison", f.comparison}, {"effect", f.effect},
          {"ci95", {f.lo, f.hi}},       {"resolved", f.resolved()},  {"literature", f.literature},
          {"published_sign", f.published_sign ? nlohmann::json(*f.published_sign) : nlohmann::json(nullptr)},
          {"agreement", f.agreement()}, {"counts", f.counts()},
          {"why_not_counted", f.counts() ? nlohmann::json(nullptr) : nlohmann::json(f.invalid)},
          {"equivalence_margin", f.margin ? nlohmann::json(*f.margin) : nlohmann::json(nullptr)},
          {"scale", f.scale.empty() ? "own ladder" : f.scale}};
}

nlohmann::json verdicts_json(const std::vector<QuestionAnswer>& answers, const std::string& title) {
  nlohmann::json qs = nlohmann::json::array();
  for (const auto& q : answers) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& f : q.findings) all.push_back(finding_json(f));
    const Finding* h = q.headline();
    qs.push_back({{"question", q.question},
                  {"text", q.text},
                  {"answer", q.answer()},
                  {"resolved", h && h->resolved()},
                  {"headline", h ? finding_json(*h) : nlohmann::json(nullptr)},
                  {"comparisons", q.findings.size()},
                  {"comparisons_resolved", q.resolved()},
                  {"comparisons_not_counted", q.not_counted()},
                  {"findings", all}});
  }
  return {{"study", title}, {"effects", "A - B in accuracy (exact match), paired bootstrap over the same test items, 95% CI"},
          {"rules", counting_rules()},
          {"questions", qs}};
}

}  // namespace elab
