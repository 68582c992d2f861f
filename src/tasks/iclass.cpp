// iclass: in-context classification, the task of Chan et al. 2022 ("Data distributional
// properties drive emergent in-context learning in transformers") and Reddy 2023 ("The
// mechanistic basis of data dependence and abrupt learning in an in-context
// classification task"), in text. Each class is a prototype string of `item_len`
// letters; an exemplar is the prototype with each letter replaced with probability
// `noise`. Every trained class has a fixed label (one of `labels` capital letters), so a
// model can learn it in its weights; a sequence shows `context` exemplar=label pairs,
// then a query exemplar, and asks for its label:
//   Q: kcap=B modf=E kcbp=B mpdf=E kcap=?
//   A: B
// The knobs are the papers': burstiness (the share `bursty` of sequences whose context
// holds the query's class `burst` times, in context/burst classes), the number of
// classes, the Zipf exponent `zipf` of class frequencies, within-class noise.
//   id             the training distribution
//   ood-novel      in-context learning: two held-out classes, context/2 exemplars each,
//                  labelled afresh per sequence (two distinct labels): only the context
//                  tells the answer (chance 1/2 among the two)
//   ood-weights    in-weights learning: the query's class is trained, the context holds
//                  only other classes, so only the weights tell the answer (chance 1/labels)
//   ood-swapped    the flipped-label probe: a bursty context of two trained classes shown
//                  with each other's labels; the answer is the in-context label (a model
//                  answering from its weights scores 0)
//   id-random-labels  the random-label probe of Min et al. 2022: the id problems, item for
//                  item, with every label in the context drawn uniformly at random; the
//                  answer is still the trained label, so the drop from id is how much the
//                  model reads the labels shown (a model answering from its weights loses
//                  nothing). A split named X-random-labels is the report's probe of X.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/hash.h"
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

constexpr int kAlphabet = 16;  // items are strings over a..p

// Surface templates: how an item and its label are joined, and how pairs are separated.
// Template 0 is the one the experiments in docs/results use (templates=0).
struct Surface {
  const char *join, *sep;
};
const Surface kSurfaces[] = {{"=", " "}, {" -> ", "\n"}, {": ", ", "}};

class IclassTask : public SyntheticTask {
 public:
  explicit IclassTask(const std::string& args) {
    TaskOptions o("iclass", args,
                  {"classes", "novel", "labels", "context", "burst", "bursty", "zipf", "noise", "item_len"});
    templates_ = o.templates(3);
    classes_ = int(o.integer("classes", 256, 2, 100000));
    novel_ = int(o.integer("novel", 64, 2, 100000));
    labels_ = int(o.integer("labels", 8, 2, 26));
    context_ = int(o.integer("context", 8, 2, 32));
    burst_ = int(o.integer("burst", 4, 1, 32));
    bursty_ = o.real("bursty", 0.9, 0.0, 1.0);
    zipf_ = o.real("zipf", 0.0, 0.0, 4.0);
    noise_ = o.real("noise", 0.1, 0.0, 0.5);
    item_len_ = int(o.integer("item_len", 4, 2, 12));
    check(context_ % burst_ == 0, "task iclass: context {} must be a multiple of burst {}", context_, burst_);
    check(context_ % 2 == 0, "task iclass: context must be even (the novel and swapped splits show two classes), got {}",
          context_);
    // The classes and their labels are a function of the options alone, so every seed,
    // pool and split shares them: trained classes 0..classes-1, then the novel ones.
    Rng rng(derive_seed(0, "iclass-classes", {uint64_t(classes_), uint64_t(novel_), uint64_t(labels_), uint64_t(item_len_)}));
    std::set<std::string> seen;
    while (int(prototypes_.size()) < classes_ + novel_) {
      std::string p;
      for (int i = 0; i < item_len_; ++i) p.push_back(char('a' + rng.uniform_int(0, kAlphabet - 1)));
      if (seen.insert(p).second) prototypes_.push_back(p);
    }
    for (int c = 0; c < classes_; ++c) label_of_.push_back(int(rng.uniform_int(0, labels_ - 1)));
    // Zipf: p(rank r) ~ r^-zipf over the trained classes.
    double total = 0;
    for (int c = 0; c < classes_; ++c) total += std::pow(double(c + 1), -zipf_);
    double acc = 0;
    for (int c = 0; c < classes_; ++c) cumulative_.push_back(acc += std::pow(double(c + 1), -zipf_) / total);
  }
  std::string name() const override { return "iclass"; }
  std::string description() const override {
    return fmt::format("in-context classification: {} classes ({} held out), {} labels, {} pairs in context, "
                       "bursty {} (burst {}), zipf {}, noise {}",
                       classes_, novel_, labels_, context_, bursty_, burst_, zipf_, noise_);
  }
  std::string instruction() const override { return "Give the label of the last item."; }
  // The labels: capital letters A, B, ... (labels of them).
  std::vector<std::string> answer_options(const Example&) const override {
    std::vector<std::string> out;
    for (int l = 0; l < labels_; ++l) out.push_back(std::string(1, char('A' + l)));
    return out;
  }
  AnswerKind answer_kind() const override { return AnswerKind::text; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", "the training distribution"},
            {"ood-novel", "held-out classes labelled afresh in context: in-context learning"},
            {"ood-weights", "a trained class absent from the context: in-weights learning"},
            {"ood-swapped", "two trained classes shown with each other's labels: the in-context label"},
            {"id-random-labels", "the id problems with random labels in context: the random-label probe"}};
  }
  // The probe is the id problem of the same index with its context labels redrawn, so the
  // two splits pair item for item.
  Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const override {
    if (split != "id-random-labels") return SyntheticTask::example(split, pool, seed, index);
    Example e = SyntheticTask::example("id", pool, seed, index);
    Rng rng(derive_seed(seed, "iclass-random-labels", {Hasher().add(e.key).value()}));
    // Labels are the only capitals in a question; the last position is the query's "?".
    for (char& ch : e.question)
      if (ch >= 'A' && ch < 'A' + labels_) ch = char('A' + rng.uniform_int(0, labels_ - 1));
    e.key = "random-labels:" + e.key;
    return e;
  }
  int version() const override { return 1; }

 protected:
  Example draw(const std::string& split, Rng& rng) const override {
    std::vector<std::pair<int, int>> pairs;  // (class, label shown) in context order
    int query = 0, answer = 0;
    if (split == "id") {
      query = trained_class(rng);
      if (rng.bernoulli(bursty_)) {
        std::vector<int> chosen = {query};
        while (int(chosen.size()) < context_ / burst_) {
          const int c = trained_class(rng);
          if (std::find(chosen.begin(), chosen.end(), c) == chosen.end()) chosen.push_back(c);
        }
        for (int c : chosen)
          for (int k = 0; k < burst_; ++k) pairs.push_back({c, label_of_[size_t(c)]});
      } else {
        for (int k = 0; k < context_; ++k) {
          const int c = trained_class(rng);
          pairs.push_back({c, label_of_[size_t(c)]});
        }
      }
      answer = label_of_[size_t(query)];
    } else if (split == "ood-novel" || split == "ood-swapped") {
      const bool novel = split == "ood-novel";
      int a = novel ? classes_ + int(rng.uniform_int(0, novel_ - 1)) : trained_class(rng), b = a;
      while (b == a || (!novel && label_of_[size_t(b)] == label_of_[size_t(a)]))
        b = novel ? classes_ + int(rng.uniform_int(0, novel_ - 1)) : trained_class(rng);
      int la = 0, lb = 0;
      if (novel) {
        la = int(rng.uniform_int(0, labels_ - 1));
        do lb = int(rng.uniform_int(0, labels_ - 1));
        while (lb == la);
      } else {  // each shown with the other's label
        la = label_of_[size_t(b)], lb = label_of_[size_t(a)];
      }
      for (int k = 0; k < context_ / 2; ++k) pairs.push_back({a, la}), pairs.push_back({b, lb});
      query = rng.bernoulli(0.5) ? a : b;
      answer = query == a ? la : lb;
    } else {  // ood-weights
      query = trained_class(rng);
      while (int(pairs.size()) < context_) {
        const int c = trained_class(rng);
        if (c != query) pairs.push_back({c, label_of_[size_t(c)]});
      }
      answer = label_of_[size_t(query)];
    }
    rng.shuffle(pairs);  // positions carry nothing
    std::vector<std::string> items;
    for (const auto& [c, label] : pairs) items.push_back(exemplar(c, rng));
    const std::string item = exemplar(query, rng);
    // Drawn last, and only when there is a choice, so templates=0 gives the same problems
    // as the single-template version the first experiments ran.
    const auto allowed = templates_for(split);
    const int t = allowed.size() == 1 ? allowed[0] : pick_template(split, rng);
    const Surface& s = kSurfaces[t];
    std::string q, key = split + ":", classes;
    for (size_t k = 0; k < pairs.size(); ++k) {
      const auto& [c, label] = pairs[k];
      classes += (classes.empty() ? "" : ",") + std::to_string(c);
      q += items[k] + s.join + char('A' + label) + s.sep;
      key += items[k] + char('A' + label);
    }
    q += item + s.join + "?";
    Example e;
    e.question = q;
    e.answer = std::string(1, char('A' + answer));
    e.key = key + "?" + item;
    e.attrs = {{"query_class", std::to_string(query)}, {"context_classes", classes}, {"template", std::to_string(t)},
               {"query_trained_label", query < classes_ ? std::string(1, char('A' + label_of_[size_t(query)])) : ""}};
    return e;
  }

 private:
  int trained_class(Rng& rng) const {
    const double u = rng.uniform();
    return int(std::lower_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin()) % classes_;
  }
  // The prototype with each letter replaced with probability noise_.
  std::string exemplar(int c, Rng& rng) const {
    std::string s = prototypes_[size_t(c)];
    for (char& ch : s)
      if (rng.bernoulli(noise_)) ch = char('a' + rng.uniform_int(0, kAlphabet - 1));
    return s;
  }

  int classes_, novel_, labels_, context_, burst_, item_len_;
  double bursty_, zipf_, noise_;
  std::vector<std::string> prototypes_;
  std::vector<int> label_of_;
  std::vector<double> cumulative_;
};

}  // namespace

std::unique_ptr<Task> make_iclass_task(const std::string& args) { return std::make_unique<IclassTask>(args); }

}  // namespace elab
