// induction: a random block of letters, then the same block again: the answer repeats
// the block (what induction heads do).
//   id:          block of 8-32 letters
//   ood-length:  48-64 letters
// No rationale.
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"Repeat: {b}", "Copy this sequence: {b}", "{b} (again)"};

class InductionTask : public SyntheticTask {
 public:
  explicit InductionTask(const std::string& args) {
    templates_ = TaskOptions("induction", args, {}).templates(int(kTemplates.size()));
  }
  std::string name() const override { return "induction"; }
  std::string description() const override { return "repeat a random block of letters"; }
  std::string instruction() const override { return "Repeat the sequence exactly."; }
  AnswerKind answer_kind() const override { return AnswerKind::text; }
  std::vector<SplitInfo> splits() const override { return {{"id", "8-32 letters"}, {"ood-length", "48-64 letters"}}; }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int n = int(split == "id" ? rng.uniform_int(8, 32) : rng.uniform_int(48, 64));
    std::string block;
    for (int i = 0; i < n; ++i) block.push_back(char('a' + rng.uniform_int(0, 25)));
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"b", block}});
    e.answer = block;
    e.code = fmt::format("print(\"{}\")\n", block);
    e.key = block;
    e.attrs = {{"length", std::to_string(n)}, {"template", std::to_string(t)}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Task> make_induction_task(const std::string& args) { return std::make_unique<InductionTask>(args); }

}  // namespace elab
