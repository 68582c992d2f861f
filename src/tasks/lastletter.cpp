// lastletter: concatenate the last letters of k names.
//   id:          2 words
//   ood-length:  3-4 words
// Rationale: one letter a step, then the concatenation.
#include "tasks/registry.h"
#include "tasks/synthetic.h"
#include "tasks/words.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {
    "Take the last letters of the words in \"{w}\" and concatenate them.",
    "Concatenate the last letters of: {w}.",
    "What do the last letters of \"{w}\" spell when joined?"};

class LastLetterTask : public SyntheticTask {
 public:
  explicit LastLetterTask(const std::string& args) {
    templates_ = TaskOptions("lastletter", args, {}).templates(int(kTemplates.size()));
  }
  std::string name() const override { return "lastletter"; }
  std::string description() const override { return "last letters of k names, concatenated"; }
  std::string instruction() const override { return "Concatenate the last letters of the words."; }
  AnswerKind answer_kind() const override { return AnswerKind::text; }
  std::vector<SplitInfo> splits() const override { return {{"id", "2 words"}, {"ood-length", "3-4 words"}}; }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int k = int(split == "id" ? 2 : rng.uniform_int(3, 4));
    const auto& names = first_names();
    std::string words, answer;
    Example e;
    for (int i = 0; i < k; ++i) {
      const std::string& w = names[size_t(rng.uniform_int(0, int64_t(names.size()) - 1))];
      words += (i ? " " : "") + w;
      answer.push_back(w.back());
      e.rationale += fmt::format("The last letter of \"{}\" is \"{}\".\n", w, w.back());
    }
    e.rationale += fmt::format("Concatenating them gives \"{}\".\n", answer);
    int t = pick_template(split, rng);
    e.question = fill(kTemplates[size_t(t)], {{"w", words}});
    e.answer = answer;
    e.code = fmt::format("words = \"{}\".split()\nprint(\"\".join(w[-1] for w in words))\n", words);
    e.key = words;
    e.attrs = {{"words", std::to_string(k)}, {"steps", std::to_string(k)}, {"template", std::to_string(t)}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Task> make_lastletter_task(const std::string& args) { return std::make_unique<LastLetterTask>(args); }

}  // namespace elab
