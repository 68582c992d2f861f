// wordprob: templated multi-step word problems over people, things and quantities
// (GSM8K-like).
//   id:            1-3 steps, phrasings of set A
//   ood-depth:     4-6 steps, phrasings of set A
//   ood-template:  1-3 steps, phrasings of set B, never used in id
// Rationale: one equation a line, GSM8K style: "16 + 5 = <<16+5=21>>21".
#include "tasks/registry.h"
#include "tasks/synthetic.h"
#include "tasks/words.h"

namespace elab {
namespace {

struct Phrasings {
  std::vector<std::string> add, sub, mul, question;
};

// Set A: id and ood-depth. Set B: ood-template only. {n} name, {f} friend, {k} amount, {o} object.
const Phrasings kSetA = {
    {"{n} buys {k} more {o}.", "{f} gives {n} {k} {o}.", "{n} finds {k} {o}."},
    {"{n} gives {k} {o} to {f}.", "{n} loses {k} {o}.", "{n} sells {k} {o}."},
    {"{n} doubles the number of {o}.", "{n} ends up with {k} times as many {o}.", "The number of {o} {n} has grows {k}-fold."},
    {"How many {o} does {n} have now?", "How many {o} does {n} have at the end?", "How many {o} are left with {n}?"}};
const Phrasings kSetB = {
    {"Later, {k} additional {o} arrive for {n}.", "{f} hands over {k} {o} to {n}."},
    {"{k} of {n}'s {o} get thrown away.", "{n} donates {k} {o} to charity."},
    {"The pile of {o} becomes {k} times as large.", "{n} now owns {k} times the {o} from before."},
    {"What is the final count of {o} that {n} owns?", "In total, how many {o} remain in {n}'s hands?"}};

class WordProbTask : public SyntheticTask {
 public:
  explicit WordProbTask(const std::string& args) { TaskOptions("wordprob", args, {}); }
  std::string name() const override { return "wordprob"; }
  std::string description() const override { return "multi-step word problems (GSM8K-like) with equations as CoT"; }
  std::string instruction() const override { return "Solve the word problem."; }
  AnswerKind answer_kind() const override { return AnswerKind::number; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", "1-3 steps, phrasing set A"},
            {"ood-depth", "4-6 steps, phrasing set A"},
            {"ood-template", "1-3 steps, phrasing set B (never in id)"}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    const Phrasings& ph = split == "ood-template" ? kSetB : kSetA;
    int steps = int(split == "ood-depth" ? rng.uniform_int(4, 6) : rng.uniform_int(1, 3));
    const auto& names = first_names();
    const auto& objects = object_words();
    std::string n = names[size_t(rng.uniform_int(0, int64_t(names.size()) - 1))], f;
    do f = names[size_t(rng.uniform_int(0, int64_t(names.size()) - 1))]; while (f == n);
    std::string o = objects[size_t(rng.uniform_int(0, int64_t(objects.size()) - 1))];
    auto pick = [&](const std::vector<std::string>& v) { return v[size_t(rng.uniform_int(0, int64_t(v.size()) - 1))]; };

    int64_t value = rng.uniform_int(2, 30);
    Example e;
    e.question = fmt::format("{} has {} {}.", n, value, o);
    // The key holds the phrasing set: ood-template shares arithmetic with id, never a problem.
    e.key = fmt::format("{}|{}|{}|{}", split == "ood-template" ? "B" : "A", n, o, value);
    e.code = fmt::format("{} = {}\n", "count", value);
    for (int s = 0; s < steps; ++s) {
      int op = int(rng.uniform_int(0, value > 1 ? 2 : 0));  // no subtraction from 0 or 1
      if (op == 2 && value > 200) op = 1;                      // keep numbers readable
      int64_t k, next;
      std::string line, sign;
      if (op == 0) {
        k = rng.uniform_int(1, 20);
        next = value + k;
        line = pick(ph.add);
        sign = "+";
      } else if (op == 1) {
        k = rng.uniform_int(1, value - 1);
        next = value - k;
        line = pick(ph.sub);
        sign = "-";
      } else {
        k = rng.uniform_int(2, 3);
        next = value * k;
        line = pick(ph.mul);
        if (line.find("doubles") != std::string::npos) k = 2, next = value * 2;
        sign = "*";
      }
      e.question += " " + fill(line, {{"n", n}, {"f", f}, {"k", std::to_string(k)}, {"o", o}});
      e.rationale += fmt::format("{} {} {} = <<{}{}{}={}>>{}\n", value, sign, k, value, sign, k, next, next);
      e.code += fmt::format("count = count {} {}\n", sign, k);
      e.key += sign + std::to_string(k);
      value = next;
    }
    e.question += " " + fill(pick(ph.question), {{"n", n}, {"o", o}});
    e.answer = std::to_string(value);
    e.code += "print(count)\n";
    e.attrs = {{"steps", std::to_string(steps)}, {"phrasing", split == "ood-template" ? "B" : "A"}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Task> make_wordprob_task(const std::string& args) { return std::make_unique<WordProbTask>(args); }

}  // namespace elab
