// add: a + b over non-negative integers.
//   id:          both operands have 1..D digits (D = option digits, default 3)
//   ood-length:  the longer operand has D+1..D+2 digits
// Rationale: column by column from the right, with carries.
#include <algorithm>
#include <cmath>

#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"What is {a} + {b}?", "{a} + {b} = ?", "Add {a} and {b}."};

int64_t number_with_digits(int d, Rng& rng) {
  int64_t lo = d == 1 ? 0 : int64_t(std::pow(10, d - 1)), hi = int64_t(std::pow(10, d)) - 1;
  return rng.uniform_int(lo, hi);
}

class AddTask : public SyntheticTask {
 public:
  explicit AddTask(const std::string& args) {
    TaskOptions o("add", args, {"digits"});
    digits_ = int(o.integer("digits", 3, 1, 15));
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "add"; }
  std::string description() const override { return "a + b; CoT adds column by column with carries"; }
  std::string instruction() const override { return "Add the two numbers."; }
  AnswerKind answer_kind() const override { return AnswerKind::number; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", fmt::format("operands of 1-{} digits", digits_)},
            {"ood-length", fmt::format("longer operand of {}-{} digits", digits_ + 1, digits_ + 2)}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int da, db;
    if (split == "id") {
      da = int(rng.uniform_int(1, digits_));
      db = int(rng.uniform_int(1, digits_));
    } else {
      int longer = int(rng.uniform_int(digits_ + 1, digits_ + 2)), other = int(rng.uniform_int(1, longer));
      bool first = rng.bernoulli(0.5);
      da = first ? longer : other;
      db = first ? other : longer;
    }
    int64_t a = number_with_digits(da, rng), b = number_with_digits(db, rng);
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"a", std::to_string(a)}, {"b", std::to_string(b)}});
    e.answer = std::to_string(a + b);
    e.rationale = rationale(a, b);
    e.code = fmt::format("a = {}\nb = {}\nprint(a + b)\n", a, b);
    e.key = fmt::format("{}+{}", a, b);
    e.attrs = {{"digits", std::to_string(std::max(da, db))}, {"template", std::to_string(t)},
               {"steps", std::to_string(std::count(e.rationale.begin(), e.rationale.end(), '\n'))}};
    return e;
  }

 private:
  // One line per column from the right: "7 + 5 + 1 = 13, write 3, carry 1"; a final
  // carry becomes the leading digit.
  static std::string rationale(int64_t a, int64_t b) {
    std::string out;
    int carry = 0;
    int64_t x = a, y = b;
    do {
      int dx = int(x % 10), dy = int(y % 10), s = dx + dy + carry;
      out += carry ? fmt::format("{} + {} + {} = {}, write {}, carry {}\n", dx, dy, carry, s, s % 10, s / 10)
                   : fmt::format("{} + {} = {}, write {}, carry {}\n", dx, dy, s, s % 10, s / 10);
      carry = s / 10;
      x /= 10;
      y /= 10;
    } while (x > 0 || y > 0);
    if (carry) out += fmt::format("write the carry {}\n", carry);
    return out;
  }

  int digits_;
};

}  // namespace

std::unique_ptr<Task> make_add_task(const std::string& args) { return std::make_unique<AddTask>(args); }

}  // namespace elab
