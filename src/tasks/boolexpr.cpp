// bool: a boolean expression over True/False with not, and, or and parentheses.
//   id:         depth 1-2
//   ood-depth:  depth 3-4
// Rationale: the innermost operation first, one step a line, each giving what remains.
#include <memory>

#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"Evaluate: {e}", "What is the value of {e}?", "Is {e} True or False?"};

struct BNode {
  std::string op;  // "" leaf, "not", "and", "or"
  bool value = false;
  std::unique_ptr<BNode> a, b;
};

const char* word(bool v) { return v ? "True" : "False"; }

std::string render(const BNode& n, bool top) {
  if (n.op.empty()) return word(n.value);
  if (n.op == "not") return "not " + render(*n.a, false);
  std::string s = render(*n.a, false) + " " + n.op + " " + render(*n.b, false);
  return top ? s : "(" + s + ")";
}

class BoolTask : public SyntheticTask {
 public:
  explicit BoolTask(const std::string& args) { templates_ = TaskOptions("bool", args, {}).templates(int(kTemplates.size())); }
  std::string name() const override { return "bool"; }
  std::string description() const override { return "boolean expression; CoT reduces the innermost operation first"; }
  std::string instruction() const override { return "Evaluate the boolean expression."; }
  AnswerKind answer_kind() const override { return AnswerKind::boolean; }
  std::vector<SplitInfo> splits() const override { return {{"id", "depth 1-2"}, {"ood-depth", "depth 3-4"}}; }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int depth = int(split == "id" ? rng.uniform_int(1, 2) : rng.uniform_int(3, 4));
    auto root = grow(depth, rng);
    const std::string text = render(*root, true);
    int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"e", text}});
    e.code = fmt::format("print({})\n", text);
    int steps = 0;
    while (!root->op.empty()) {
      BNode* n = innermost(root.get());
      bool v = n->op == "not" ? !n->a->value : n->op == "and" ? (n->a->value && n->b->value) : (n->a->value || n->b->value);
      std::string step = n->op == "not" ? fmt::format("not {} = {}", word(n->a->value), word(v))
                                        : fmt::format("{} {} {} = {}", word(n->a->value), n->op, word(n->b->value), word(v));
      n->op.clear();
      n->value = v;
      n->a.reset();
      n->b.reset();
      ++steps;
      e.rationale += root->op.empty() ? step + "\n" : fmt::format("{}, giving {}\n", step, render(*root, true));
    }
    e.answer = word(root->value);
    e.key = text;
    e.attrs = {{"depth", std::to_string(depth)}, {"steps", std::to_string(steps)}, {"template", std::to_string(t)}};
    return e;
  }

 private:
  // A tree of exactly `depth` levels of operators.
  static std::unique_ptr<BNode> grow(int depth, Rng& rng) {
    auto n = std::make_unique<BNode>();
    if (depth == 0) {
      n->value = rng.bernoulli(0.5);
      return n;
    }
    int kind = int(rng.uniform_int(0, 2));
    if (kind == 0) {
      n->op = "not";
      n->a = grow(depth - 1, rng);
      return n;
    }
    n->op = kind == 1 ? "and" : "or";
    bool deep_left = rng.bernoulli(0.5);
    n->a = grow(deep_left ? depth - 1 : int(rng.uniform_int(0, depth - 1)), rng);
    n->b = grow(deep_left ? int(rng.uniform_int(0, depth - 1)) : depth - 1, rng);
    return n;
  }
  static BNode* innermost(BNode* n) {
    bool a_leaf = n->a->op.empty(), b_leaf = !n->b || n->b->op.empty();
    if (a_leaf && b_leaf) return n;
    return !a_leaf ? innermost(n->a.get()) : innermost(n->b.get());
  }
};

}  // namespace

std::unique_ptr<Task> make_bool_task(const std::string& args) { return std::make_unique<BoolTask>(args); }

}  // namespace elab
