// expr: an expression with + - * and parentheses, over Z_p (option p, default 7) or
// over the integers (p=0, leaves 0-9).
//   id:         1-4 operators
//   ood-depth:  5-6 operators
// Rationale: the innermost operation first, one step a line, each line giving the
// expression that remains: "3 + 4 = 0, giving 0 * 2".
#include <memory>

#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kTemplates = {"What is {e}{mod}?", "Compute {e}{mod}.", "Evaluate {e}{mod}."};

struct Node {
  char op = 0;  // 0 for a leaf
  int64_t value = 0;
  std::unique_ptr<Node> left, right;
};

class ExprTask : public SyntheticTask {
 public:
  explicit ExprTask(const std::string& args) {
    TaskOptions o("expr", args, {"p"});
    p_ = o.integer("p", 7, 0, 1000);
    check(p_ != 1, "task expr: p must be 0 (integers) or at least 2");
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "expr"; }
  std::string description() const override {
    return p_ ? fmt::format("arithmetic expression over Z_{}; CoT reduces the innermost operation first", p_)
              : "arithmetic expression over the integers; CoT reduces the innermost operation first";
  }
  std::string instruction() const override { return "Evaluate the expression."; }
  AnswerKind answer_kind() const override { return AnswerKind::number; }
  std::vector<SplitInfo> splits() const override { return {{"id", "1-4 operators"}, {"ood-depth", "5-6 operators"}}; }

  int64_t apply(char op, int64_t a, int64_t b) const {
    int64_t r = op == '+' ? a + b : op == '-' ? a - b : a * b;
    return p_ ? ((r % p_) + p_) % p_ : r;
  }
  std::string render(const Node& n, bool top) const {
    if (!n.op) return std::to_string(n.value);
    std::string s = render(*n.left, false) + " " + n.op + " " + render(*n.right, false);
    return top ? s : "(" + s + ")";
  }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    int ops = int(split == "id" ? rng.uniform_int(1, 4) : rng.uniform_int(5, 6));
    auto root = grow(ops, rng);
    int t = pick_template(split, rng);
    Example e;
    const std::string text = render(*root, true);
    e.question = fill(kTemplates[size_t(t)], {{"e", text}, {"mod", p_ ? fmt::format(" (mod {})", p_) : ""}});
    e.code = fmt::format("print({}{})\n", p_ ? "(" + text + ")" : text, p_ ? fmt::format(" % {}", p_) : "");
    // Reduce the leftmost operation whose operands are both numbers until one is left.
    while (root->op) {
      Node* n = innermost(root.get());
      int64_t v = apply(n->op, n->left->value, n->right->value);
      std::string step = fmt::format("{} {} {} = {}", n->left->value, n->op, n->right->value, v);
      n->op = 0;
      n->value = v;
      n->left.reset();
      n->right.reset();
      e.rationale += root->op ? fmt::format("{}, giving {}\n", step, render(*root, true)) : step + "\n";
    }
    e.answer = std::to_string(root->value);
    e.key = text + (p_ ? fmt::format(" mod {}", p_) : "");
    e.attrs = {{"operators", std::to_string(ops)}, {"steps", std::to_string(ops)}, {"template", std::to_string(t)}};
    return e;
  }

 private:
  std::unique_ptr<Node> grow(int ops, Rng& rng) const {
    auto n = std::make_unique<Node>();
    if (ops == 0) {
      n->value = rng.uniform_int(0, p_ ? p_ - 1 : 9);
      return n;
    }
    const char kOps[] = {'+', '-', '*'};
    n->op = kOps[rng.uniform_int(0, 2)];
    int left = int(rng.uniform_int(0, ops - 1));
    n->left = grow(left, rng);
    n->right = grow(ops - 1 - left, rng);
    return n;
  }
  static Node* innermost(Node* n) {
    if (!n->left->op && !n->right->op) return n;
    return n->left->op ? innermost(n->left.get()) : innermost(n->right.get());
  }

  int64_t p_;
};

}  // namespace

std::unique_ptr<Task> make_expr_task(const std::string& args) { return std::make_unique<ExprTask>(args); }

}  // namespace elab
