// modadd: a + b mod p over the p^2 pairs (the "grokking" setting).
//   id:   a train_fraction of the pairs (fixed by a hash of the pair)
//   ood:  the other pairs: never seen in any form
// No rationale.
// symbols=1 writes each residue as one character (one token of the byte tokenizer) in
// one template "a+b=", as Power et al. 2022 and Nanda et al. 2023 give each residue its
// own token: the model learns the group, not also how to read and write digit strings.
#include <string_view>

#include "core/error.h"
#include "core/hash.h"
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"{a} + {b} mod {p} = ?", "What is ({a} + {b}) mod {p}?",
                                             "Add {a} and {b} modulo {p}."};
const std::vector<std::string> kSymbolTemplates = {"{a}+{b}="};

// One character a residue: capitals, then punctuation, then digits. No lower case (the
// trivial baselines compare answers case aside), no space, and none of the characters
// the formats or the answer extraction read ('.', ':', '"', '+', '=', '?').
constexpr std::string_view kSymbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&()*,-/;<>@[]^_{|}~0123456789";

class ModAddTask : public SyntheticTask {
 public:
  explicit ModAddTask(const std::string& args) {
    TaskOptions o("modadd", args, {"p", "train_fraction", "symbols"});
    symbols_ = o.integer("symbols", 0, 0, 1) == 1;
    p_ = o.integer("p", 97, 2, 10007);
    check(!symbols_ || p_ <= int64_t(kSymbols.size()),
          "modadd: symbols=1 writes each residue as one of {} characters, so p must be at most {}, got {}",
          kSymbols.size(), kSymbols.size(), p_);
    fraction_ = o.real("train_fraction", 0.5, 0.01, 0.99);
    templates_ = o.templates(int(symbols_ ? kSymbolTemplates.size() : kTemplates.size()));
  }
  std::string name() const override { return "modadd"; }
  std::string description() const override {
    return fmt::format("a + b mod {}{}; id holds {:.0f}% of the pairs, ood the rest", p_,
                       symbols_ ? ", one character a residue" : "", fraction_ * 100);
  }
  std::string instruction() const override { return fmt::format("Add the two numbers modulo {}.", p_); }
  AnswerKind answer_kind() const override { return symbols_ ? AnswerKind::text : AnswerKind::number; }
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
      if (symbols_) {
        e.question = fill(kSymbolTemplates[size_t(t)], {{"a", symbol(a)}, {"b", symbol(b)}});
        e.answer = symbol((a + b) % p_);
      } else {
        e.question = fill(kTemplates[size_t(t)], {{"a", std::to_string(a)}, {"b", std::to_string(b)}, {"p", std::to_string(p_)}});
        e.answer = std::to_string((a + b) % p_);
        e.code = fmt::format("print(({} + {}) % {})\n", a, b, p_);
      }
      e.key = key;
      e.attrs = {{"template", std::to_string(t)}};
      return e;
    }
  }

 private:
  static std::string symbol(int64_t residue) { return std::string(1, kSymbols[size_t(residue)]); }

  int64_t p_;
  double fraction_;
  bool symbols_ = false;
};

}  // namespace

std::unique_ptr<Task> make_modadd_task(const std::string& args) { return std::make_unique<ModAddTask>(args); }

}  // namespace elab
