// fn: ICL-only. Each example draws a fresh random function from a family, shows
// `shots` input -> output pairs and asks for the output of a new input.
//   id:          families substitution (random letter map), affine (a*x + b mod 17),
//                append (a random 2-letter suffix)
//   ood-family:  families prepend (a random 2-letter prefix) and reverse, unseen in id
// No rationale: the function has to be inferred from the pairs in context.
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"{pairs}f({q}) = ?", "Given\n{pairs}what is f({q})?",
                                             "The function f maps:\n{pairs}Find f({q})."};

std::string letters(Rng& rng, int n, int alphabet) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(char('a' + rng.uniform_int(0, alphabet - 1)));
  return s;
}

class FnTask : public SyntheticTask {
 public:
  explicit FnTask(const std::string& args) {
    TaskOptions o("fn", args, {"shots"});
    shots_ = int(o.integer("shots", 4, 1, 16));
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "fn"; }
  std::string description() const override {
    return fmt::format("infer a fresh random function from {} input-output pairs", shots_);
  }
  std::string instruction() const override { return "Infer the function from the examples and apply it."; }
  AnswerKind answer_kind() const override { return AnswerKind::text; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", "families substitution, affine, append"}, {"ood-family", "families prepend, reverse"}};
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    const std::vector<std::string> families =
        split == "id" ? std::vector<std::string>{"substitution", "affine", "append"}
                      : std::vector<std::string>{"prepend", "reverse"};
    std::string family = families[size_t(rng.uniform_int(0, int64_t(families.size()) - 1))];
    std::function<std::string(const std::string&)> f;
    std::function<std::string()> input;
    std::string params;
    if (family == "substitution") {
      std::string perm = "abcdefgh";
      std::vector<char> p(perm.begin(), perm.end());
      rng.shuffle(p);
      perm.assign(p.begin(), p.end());
      params = perm;
      f = [perm](const std::string& x) {
        std::string y;
        for (char c : x) y.push_back(perm[size_t(c - 'a')]);
        return y;
      };
      input = [&rng] { return letters(rng, 3, 8); };
    } else if (family == "affine") {
      int64_t a = rng.uniform_int(1, 16), b = rng.uniform_int(0, 16);
      params = fmt::format("{}x+{}", a, b);
      f = [a, b](const std::string& x) { return std::to_string((a * std::stoll(x) + b) % 17); };
      input = [&rng] { return std::to_string(rng.uniform_int(0, 16)); };
    } else if (family == "append" || family == "prepend") {
      std::string affix = letters(rng, 2, 26);
      params = affix;
      bool append = family == "append";
      f = [affix, append](const std::string& x) { return append ? x + affix : affix + x; };
      input = [&rng] { return letters(rng, int(rng.uniform_int(2, 4)), 26); };
    } else {
      f = [](const std::string& x) { return std::string(x.rbegin(), x.rend()); };
      input = [&rng] { return letters(rng, int(rng.uniform_int(3, 5)), 26); };
    }
    std::string pairs, key = family + ":" + params + ":";
    for (int i = 0; i < shots_; ++i) {
      std::string x = input();
      pairs += fmt::format("f({}) = {}\n", x, f(x));
      key += x + ",";
    }
    std::string q = input();
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"pairs", pairs}, {"q", q}});
    e.answer = f(q);
    e.key = key + "?" + q;
    e.attrs = {{"family", family}, {"template", std::to_string(t)}};
    return e;
  }

 private:
  int shots_;
};

}  // namespace

std::unique_ptr<Task> make_fn_task(const std::string& args) { return std::make_unique<FnTask>(args); }

}  // namespace elab
