// coin: a coin starts heads up; k people each flip it or not; is it still heads up?
//   id:          1-4 people
//   ood-length:  5-8 people
// Rationale: the state after each person.
#include "tasks/registry.h"
#include "tasks/synthetic.h"
#include "tasks/words.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"A coin is heads up. {actions} Is the coin still heads up?",
                                             "The coin starts heads up. {actions} Is it heads up now?",
                                             "A coin lies heads up on a table. {actions} Is the coin heads up?"};

class CoinTask : public SyntheticTask {
 public:
  explicit CoinTask(const std::string& args) { templates_ = TaskOptions("coin", args, {}).templates(int(kTemplates.size())); }
  std::string name() const override { return "coin"; }
  std::string description() const override { return "coin flips by k people; CoT tracks the state after each"; }
  std::string instruction() const override { return "Track the coin and answer yes or no."; }
  AnswerKind answer_kind() const override { return AnswerKind::boolean; }
  std::vector<SplitInfo> splits() const override { return {{"id", "1-4 people"}, {"ood-length", "5-8 people"}}; }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int k = int(split == "id" ? rng.uniform_int(1, 4) : rng.uniform_int(5, 8));
    const auto& names = first_names();
    std::vector<std::string> people = names;
    rng.shuffle(people);
    people.resize(size_t(k));
    bool heads = true;
    std::string actions, key, code = "heads = True\n";
    Example e;
    for (const auto& p : people) {
      bool flips = rng.bernoulli(0.5);
      heads ^= flips;
      actions += fmt::format("{}{} {} the coin.", actions.empty() ? "" : " ", p, flips ? "flips" : "does not flip");
      key += fmt::format("{}{};", p, flips ? "F" : "N");
      e.rationale += fmt::format("{} {}: {}\n", p, flips ? "flips" : "does not flip", heads ? "heads" : "tails");
      if (flips) code += fmt::format("heads = not heads  # {}\n", p);
    }
    int t = pick_template(split, rng);
    e.question = fill(kTemplates[size_t(t)], {{"actions", actions}});
    e.answer = heads ? "yes" : "no";
    e.code = code + "print('yes' if heads else 'no')\n";
    e.key = key;
    e.attrs = {{"people", std::to_string(k)}, {"steps", std::to_string(k)}, {"template", std::to_string(t)}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Task> make_coin_task(const std::string& args) { return std::make_unique<CoinTask>(args); }

}  // namespace elab
