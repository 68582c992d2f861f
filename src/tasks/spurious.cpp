// spurious: a rule-labelled classification with a shortcut. The label is "yes" when the
// first number of the list is larger than the last. A card colour agrees with the label
// (red = yes, blue = no) in `agree` of the id examples (default 0.9) and never in
// ood-flip, so a model that learned the colour instead of the rule fails there.
// Rationale: the rule applied.
#include "core/hash.h"
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"A {c} card shows {l}. Label?", "Numbers {l} on a {c} card. What is the label?",
                                             "{c} card: {l}. Label yes or no?"};

class SpuriousTask : public SyntheticTask {
 public:
  explicit SpuriousTask(const std::string& args) {
    TaskOptions o("spurious", args, {"agree"});
    agree_ = o.real("agree", 0.9, 0.0, 1.0);
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "spurious"; }
  std::string description() const override {
    return fmt::format("label = first > last; card colour agrees with the label in {:.0f}% of id, never in ood-flip",
                       agree_ * 100);
  }
  std::string instruction() const override { return "Label the card yes or no."; }
  AnswerKind answer_kind() const override { return AnswerKind::boolean; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", fmt::format("colour agrees with the label {:.0f}% of the time", agree_ * 100)},
            {"ood-flip", "colour always disagrees with the label"}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    const bool agrees = split == "id" ? rng.bernoulli(agree_) : false;
    std::vector<int64_t> xs;
    std::string list, colour;
    bool label = false;
    // Disagreeing problems are split by a hash between id's minority and ood-flip, so the
    // two splits never share a problem.
    do {
      xs.assign(size_t(rng.uniform_int(3, 5)), 0);
      for (auto& x : xs) x = rng.uniform_int(0, 9);
      label = xs.front() > xs.back();
      colour = (label == agrees) ? "red" : "blue";  // red <-> yes when the colour agrees
      list.clear();
      for (size_t i = 0; i < xs.size(); ++i) list += (i ? " " : "") + std::to_string(xs[i]);
    } while (xs.front() == xs.back() ||
             (!agrees && (Hasher().add(colour + ":" + list).value() % 2 == 0) != (split == "id")));
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"c", colour}, {"l", list}});
    e.answer = label ? "yes" : "no";
    e.rationale = fmt::format("The first number is {} and the last is {}.\n{} {} {}, so the label is {}.\n", xs.front(),
                              xs.back(), xs.front(), label ? ">" : "<", xs.back(), e.answer);
    e.code = fmt::format("xs = [{}]\nprint('yes' if xs[0] > xs[-1] else 'no')\n", fmt::join(xs, ", "));
    e.key = colour + ":" + list;
    e.attrs = {{"colour", colour}, {"agrees", agrees ? "1" : "0"}, {"template", std::to_string(t)}};
    return e;
  }

 private:
  double agree_;
};

}  // namespace

std::unique_ptr<Task> make_spurious_task(const std::string& args) { return std::make_unique<SpuriousTask>(args); }

}  // namespace elab
