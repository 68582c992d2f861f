// parity: is the number of 1s among n bits odd? The task by which Wies et al. 2023
// ("Sub-task decomposition enables learning in sequence to sequence tasks") and Kim &
// Suzuki 2024 ("Transformers provably solve parity efficiently with chain of thought")
// show that intermediate steps change what a transformer can learn: the answer depends on
// every bit at once, while each step of the chain (the parity so far) depends on one bit
// and the step before. Bits carry letter positions, so a step finds its bit by content:
//   Q: a1 b0 c1 d1 e0 f1 parity?          (or two other surface templates)
//   A: 0                                  (direct)
//   A:
//   a1>1 b0>1 c1>0 d1>1 e0>1 f1>0         (cot: each bit, then the parity so far)
//   So the answer is 0.
// Each step restates its bit (found by its letter) beside the parity so far, so that the
// step's two operands sit a few characters apart.
//   id          bits-4 .. bits bits (default bits=10: 6-10)
//   ood-length  bits+1 .. bits+4 bits
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"{bits} parity?", "Parity of {bits}?", "Bits {bits}: is the count of 1s odd?"};

class ParityTask : public SyntheticTask {
 public:
  explicit ParityTask(const std::string& args) {
    TaskOptions o("parity", args, {"bits"});
    bits_ = int(o.integer("bits", 10, 5, 22));
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "parity"; }
  std::string description() const override {
    return fmt::format("parity of {}-{} lettered bits; CoT the parity after each position", bits_ - 4, bits_);
  }
  std::string instruction() const override { return "Answer 1 if the number of 1s is odd, else 0."; }
  AnswerKind answer_kind() const override { return AnswerKind::number; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", fmt::format("{}-{} bits", bits_ - 4, bits_)}, {"ood-length", fmt::format("{}-{} bits", bits_ + 1, bits_ + 4)}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    const int n = int(split == "id" ? rng.uniform_int(bits_ - 4, bits_) : rng.uniform_int(bits_ + 1, bits_ + 4));
    std::string q, chain, key, code = "p = 0\n";
    int p = 0;
    for (int i = 0; i < n; ++i) {
      const int b = int(rng.uniform_int(0, 1));
      p ^= b;
      const char pos = char('a' + i);
      q += fmt::format("{}{}{}", i ? " " : "", pos, b);
      chain += fmt::format("{}{}{}>{}", i ? " " : "", pos, b, p);
      key += char('0' + b);
      code += fmt::format("p ^= {}\n", b);
    }
    const int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"bits", q}});
    e.answer = std::to_string(p);
    e.rationale = chain + "\n";
    e.code = code + "print(p)\n";
    e.key = key;
    e.attrs = {{"bits", std::to_string(n)}, {"steps", std::to_string(n)}, {"template", std::to_string(t)}};
    return e;
  }

 private:
  int bits_ = 10;
};

}  // namespace

std::unique_ptr<Task> make_parity_task(const std::string& args) { return std::make_unique<ParityTask>(args); }

}  // namespace elab
