// modadd: a + b mod p over the p^2 pairs (the "grokking" setting).
//   id:   a train_fraction of the pairs (fixed by a hash of the pair)
//   ood:  the other pairs: never seen in any form
// No rationale.
#include "core/hash.h"
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"{a} + {b} mod {p} = ?", "What is ({a} + {b}) mod {p}?",
                                             "Add {a} and {b} modulo {p}."};

class ModAddTask : public SyntheticTask {
 public:
  explicit ModAddTask(const std::string& args) {
    TaskOptions o("modadd", args, {"p", "train_fraction"});
    p_ = o.integer("p", 97, 2, 10007);
    fraction_ = o.real("train_fraction", 0.5, 0.01, 0.99);
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "modadd"; }
  std::string description() const override {
    return fmt::format("a + b mod {}; id holds {:.0f}% of the pairs, ood the rest", p_, fraction_ * 100);
  }
  std::string instruction() const override { return fmt::format("Add the two numbers modulo {}.", p_); }
  AnswerKind answer_kind() const override { return AnswerKind::number; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", fmt::format("{:.0f}% of the {} pairs", fraction_ * 100, p_ * p_)}, {"ood", "the other pairs"}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    const bool want_id = split == "id";
    for (;;) {
      int64_t a = rng.uniform_int(0, p_ - 1), b = rng.uniform_int(0, p_ - 1);
      std::string key = fmt::format("{}+{} mod {}", a, b, p_);
      double u = double(Hasher().add("modadd-split").add(key).value() % 1000000) / 1e6;
      if ((u < fraction_) != want_id) continue;
      int t = pick_template(split, rng);
      Example e;
      e.question = fill(kTemplates[size_t(t)], {{"a", std::to_string(a)}, {"b", std::to_string(b)}, {"p", std::to_string(p_)}});
      e.answer = std::to_string((a + b) % p_);
      e.code = fmt::format("print(({} + {}) % {})\n", a, b, p_);
      e.key = key;
      e.attrs = {{"template", std::to_string(t)}};
      return e;
    }
  }

 private:
  int64_t p_;
  double fraction_;
};

}  // namespace

std::unique_ptr<Task> make_modadd_task(const std::string& args) { return std::make_unique<ModAddTask>(args); }

}  // namespace elab
