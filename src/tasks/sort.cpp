// sort: sort a list of integers 0-99 in increasing order.
//   id:          length 2-6
//   ood-length:  length 7-10
// Rationale: selection sort, one "smallest of ... is ..." a step.
#include <algorithm>
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"Sort these numbers: {l}", "Put in increasing order: {l}",
                                             "Order from smallest to largest: {l}"};

std::string join(const std::vector<int64_t>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

class SortTask : public SyntheticTask {
 public:
  explicit SortTask(const std::string& args) { templates_ = TaskOptions("sort", args, {}).templates(int(kTemplates.size())); }
  std::string name() const override { return "sort"; }
  std::string description() const override { return "sort integers 0-99; CoT is selection sort"; }
  std::string instruction() const override { return "Sort the numbers in increasing order."; }
  AnswerKind answer_kind() const override { return AnswerKind::sequence; }
  std::vector<SplitInfo> splits() const override { return {{"id", "length 2-6"}, {"ood-length", "length 7-10"}}; }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int n = int(split == "id" ? rng.uniform_int(2, 6) : rng.uniform_int(7, 10));
    std::vector<int64_t> xs(static_cast<size_t>(n));
    for (auto& x : xs) x = rng.uniform_int(0, 99);
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"l", join(xs, ", ")}});
    std::vector<int64_t> left = xs, done;
    while (left.size() > 1) {
      auto it = std::min_element(left.begin(), left.end());
      e.rationale += fmt::format("smallest of {} is {}\n", join(left, " "), *it);
      done.push_back(*it);
      left.erase(it);
    }
    done.push_back(left[0]);
    e.rationale += fmt::format("last is {}\n", left[0]);
    e.answer = join(done, " ");
    e.code = fmt::format("print(sorted([{}]))\n", join(xs, ", "));
    e.key = join(xs, ",");
    e.attrs = {{"length", std::to_string(n)}, {"steps", std::to_string(n)}, {"template", std::to_string(t)}};
    return e;
  }
};

}  // namespace

std::unique_ptr<Task> make_sort_task(const std::string& args) { return std::make_unique<SortTask>(args); }

}  // namespace elab
