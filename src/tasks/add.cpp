// add: a + b over non-negative integers.
//   id:          both operands have 1..D digits (D = option digits, default 3)
//   ood-length:  the longer operand has D+1..D+2 digits
// Rationale: column by column from the right, with carries.
#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "tasks/extract.h"
#include "tasks/registry.h"

namespace elab {
namespace {

const char* kTemplates[] = {
    "What is {a} + {b}?",
    "{a} + {b} = ?",
    "Add {a} and {b}.",
};
constexpr int kNumTemplates = 3;

class AddTask : public Task {
 public:
  AddTask(int digits, std::vector<int> templates) : digits_(digits), templates_(std::move(templates)) {}

  std::string name() const override { return "add"; }
  std::string description() const override {
    return fmt::format("a + b; id: operands of 1-{} digits; ood-length: the longer has {}-{}", digits_, digits_ + 1,
                       digits_ + 2);
  }
  std::vector<SplitInfo> splits() const override {
    return {{"id", fmt::format("operands of 1-{} digits", digits_)},
            {"ood-length", fmt::format("longer operand of {}-{} digits", digits_ + 1, digits_ + 2)}};
  }

  Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const override {
    check_split(split);
    Rng rng(derive_seed(seed, "add/" + split + "/" + pool_name(pool), {uint64_t(index)}));
    for (int attempt = 0; attempt < 100000; ++attempt) {
      Example e = draw(split == "id", rng);
      if (pool_of(name() + "/" + split, e.key) == pool) return e;
    }
    fail("task add: could not draw an example of pool {} in split {}", pool_name(pool), split);
  }

  std::string extract_answer(const std::string& output) const override { return extract_number(output); }
  bool is_correct(const std::string& extracted, const std::string& gold) const override {
    return !extracted.empty() && normalize_number(extracted) == normalize_number(gold);
  }

 private:
  static int64_t number_with_digits(int d, Rng& rng) {
    int64_t lo = d == 1 ? 0 : int64_t(std::pow(10, d - 1)), hi = int64_t(std::pow(10, d)) - 1;
    return rng.uniform_int(lo, hi);
  }

  Example draw(bool in_distribution, Rng& rng) const {
    int da, db;
    if (in_distribution) {
      da = int(rng.uniform_int(1, digits_));
      db = int(rng.uniform_int(1, digits_));
    } else {
      int longer = int(rng.uniform_int(digits_ + 1, digits_ + 2));
      int other = int(rng.uniform_int(1, longer));
      bool first = rng.bernoulli(0.5);
      da = first ? longer : other;
      db = first ? other : longer;
    }
    int64_t a = number_with_digits(da, rng), b = number_with_digits(db, rng);
    int t = templates_[size_t(rng.uniform_int(0, int64_t(templates_.size()) - 1))];
    Example e;
    e.question = fmt::format(fmt::runtime(kTemplates[t]), fmt::arg("a", a), fmt::arg("b", b));
    e.answer = std::to_string(a + b);
    e.rationale = rationale(a, b);
    e.key = fmt::format("{}+{}", a, b);
    e.attrs = {{"digits", std::to_string(std::max(da, db))}, {"template", std::to_string(t)}};
    return e;
  }

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
  std::vector<int> templates_;
};

}  // namespace

std::unique_ptr<Task> make_add_task(const std::string& args) {
  auto opts = parse_task_args("add", args, {"digits", "templates"});
  int digits = 3;
  if (opts.count("digits")) {
    try {
      digits = std::stoi(opts["digits"]);
    } catch (...) {
      digits = 0;
    }
    check(digits >= 1 && digits <= 15, "task add: digits must be 1..15, got '{}'", opts["digits"]);
  }
  std::vector<int> templates;
  if (opts.count("templates")) {
    for (char c : opts["templates"]) {
      if (c == '+') continue;
      check(c >= '0' && c < '0' + kNumTemplates, "task add: templates are 0..{} joined by '+', got '{}'",
            kNumTemplates - 1, opts["templates"]);
      templates.push_back(c - '0');
    }
  }
  if (templates.empty())
    for (int t = 0; t < kNumTemplates; ++t) templates.push_back(t);
  return std::make_unique<AddTask>(digits, templates);
}

}  // namespace elab
