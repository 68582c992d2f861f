// mul: a x b.
//   id:          both operands of 1-2 digits
//   ood-length:  3 x 2 or 3 x 3 digits
// Rationale: one partial product per digit of b, then their sum.
#include <algorithm>
#include <cmath>

#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"What is {a} * {b}?", "{a} times {b} = ?", "Multiply {a} by {b}."};

int64_t with_digits(int d, Rng& rng) {
  return rng.uniform_int(d == 1 ? 0 : int64_t(std::pow(10, d - 1)), int64_t(std::pow(10, d)) - 1);
}

class MulTask : public SyntheticTask {
 public:
  explicit MulTask(const std::string& args) {
    TaskOptions o("mul", args, {});
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "mul"; }
  std::string description() const override { return "a * b; CoT writes partial products, then sums them"; }
  std::string instruction() const override { return "Multiply the two numbers."; }
  AnswerKind answer_kind() const override { return AnswerKind::number; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", "operands of 1-2 digits"}, {"ood-length", "3 x 2 or 3 x 3 digits"}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int da, db;
    if (split == "id") {
      da = int(rng.uniform_int(1, 2));
      db = int(rng.uniform_int(1, 2));
    } else {
      da = 3;
      db = int(rng.uniform_int(2, 3));
      if (rng.bernoulli(0.5)) std::swap(da, db);
    }
    int64_t a = with_digits(da, rng), b = with_digits(db, rng);
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"a", std::to_string(a)}, {"b", std::to_string(b)}});
    e.answer = std::to_string(a * b);
    // "47 * 5 = 235" for each digit of b with its place value, then the sum.
    std::vector<int64_t> partials;
    int64_t place = 1;
    for (int64_t y = b; ; y /= 10, place *= 10) {
      int64_t d = (y % 10) * place;
      e.rationale += fmt::format("{} * {} = {}\n", a, d, a * d);
      partials.push_back(a * d);
      if (y < 10) break;
    }
    if (partials.size() > 1) {
      std::string sum;
      for (size_t i = 0; i < partials.size(); ++i) sum += (i ? " + " : "") + std::to_string(partials[i]);
      e.rationale += fmt::format("{} = {}\n", sum, a * b);
    }
    e.code = fmt::format("a = {}\nb = {}\nprint(a * b)\n", a, b);
    e.key = fmt::format("{}*{}", a, b);
    e.attrs = {{"digits", fmt::format("{}x{}", da, db)}, {"template", std::to_string(t)},
               {"steps", std::to_string(std::count(e.rationale.begin(), e.rationale.end(), '\n'))}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Task> make_mul_task(const std::string& args) { return std::make_unique<MulTask>(args); }

}  // namespace elab
