// sentiment: a review built from word lexicons, labelled "positive" or "negative" by the
// polarity of its two adjectives (both of one polarity, so the label is never in doubt).
// A pretrained model does this in context from a handful of examples; the splits shift
// one thing each, so that prompting and fine-tuning can part ways out of distribution:
// - id: film reviews in templates 0-1, signed by a reviewer whose name agrees with the
//   label (Ann: positive, Tom: negative) in `agree` of the items (default 0.9);
// - ood-template: the same reviews asked in two other wordings (templates 2-3);
// - ood-domain: restaurant reviews (other nouns, the same adjectives);
// - ood-flip: the name always disagrees with the label, so a model that learned the
//   name rather than the words fails (the spurious-feature shift of Mosbach et al. 2023).
// The lexicons are the generator's own short lists (after the polarity words of sentiment
// lexicons such as Hu & Liu 2004), written here.
#include "core/hash.h"
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

const std::vector<std::string> kPositive = {"wonderful", "excellent", "delightful", "superb", "lovely", "brilliant",
                                            "charming", "fantastic", "great", "enjoyable", "pleasant", "amazing"};
const std::vector<std::string> kNegative = {"terrible", "awful", "boring", "dreadful", "poor", "dull",
                                            "horrible", "disappointing", "bland", "annoying", "weak", "mediocre"};
const std::vector<std::string> kFilm = {"plot", "acting", "soundtrack", "ending", "script",
                                        "cast", "dialogue", "pacing", "camera work", "story"};
const std::vector<std::string> kRestaurant = {"soup", "service", "dessert", "waiter", "pasta",
                                              "coffee", "bread", "menu", "salad", "wine"};
// {r}: the review; {n}: the reviewer. 0-1 in id, ood-domain and ood-flip; 2-3 in ood-template.
const std::vector<std::string> kTemplates = {
    "Review: {r} Posted by {n}. Is this review positive or negative?",
    "{r} (posted by {n}) Sentiment: positive or negative?",
    "{n} wrote: \"{r}\" Did {n} like it, positive or negative?",
    "Here is what {n} said: {r} Was that positive or negative?",
};

class SentimentTask : public SyntheticTask {
 public:
  explicit SentimentTask(const std::string& args) {
    TaskOptions o("sentiment", args, {"agree"});
    agree_ = o.real("agree", 0.9, 0.0, 1.0);
    templates_ = o.templates(int(kTemplates.size()));
  }
  std::string name() const override { return "sentiment"; }
  std::string description() const override {
    return fmt::format("review sentiment from word lexicons; the reviewer's name agrees with the label in {:.0f}% of id",
                       agree_ * 100);
  }
  std::string instruction() const override { return "Say whether the review is positive or negative."; }
  AnswerKind answer_kind() const override { return AnswerKind::text; }
  std::vector<std::string> answer_options(const Example&) const override { return {"positive", "negative"}; }
  std::vector<SplitInfo> splits() const override {
    return {{"id", fmt::format("film reviews, templates 0-1, the name agrees with the label {:.0f}% of the time", agree_ * 100)},
            {"ood-template", "the same reviews in two other question wordings"},
            {"ood-domain", "restaurant reviews"},
            {"ood-flip", "the name always disagrees with the label"}};
  }
  int version() const override { return 1; }

 protected:
  std::vector<int> templates_for(const std::string& split) const override {
    std::vector<int> out;
    for (int t : templates_)
      if ((split == "ood-template") == (t >= 2)) out.push_back(t);
    return out;
  }

  Example draw(const std::string& split, Rng& rng) const override {
    Example e;
    // id, ood-template and ood-flip draw from one review space: a hash of the review
    // gives each review to one of the three, so the splits never share a problem
    // (ood-domain's nouns are its own).
    const uint64_t share = split == "id" ? 0 : split == "ood-template" ? 1 : 2;
    do e = draw_review(split, rng);
    while (split != "ood-domain" && Hasher().add(e.key).value() % 3 != share);
    return e;
  }

  Example draw_review(const std::string& split, Rng& rng) const {
    const bool positive = rng.bernoulli(0.5);
    const bool agrees = split == "ood-flip" ? false : rng.bernoulli(agree_);
    const auto& nouns = split == "ood-domain" ? kRestaurant : kFilm;
    const auto& adjectives = positive ? kPositive : kNegative;
    auto pick = [&](const std::vector<std::string>& v) { return v[size_t(rng.uniform_int(0, int64_t(v.size()) - 1))]; };
    std::string noun1 = pick(nouns), noun2;
    do noun2 = pick(nouns); while (noun2 == noun1);
    std::string adj1 = pick(adjectives), adj2;
    do adj2 = pick(adjectives); while (adj2 == adj1);
    const std::string review = fmt::format("The {} was {} and the {} was {}.", noun1, adj1, noun2, adj2);
    const std::string reviewer = (positive == agrees) ? "Ann" : "Tom";  // Ann <-> positive when the name agrees
    const int t = pick_template(split, rng);
    Example e;
    e.question = fill(kTemplates[size_t(t)], {{"r", review}, {"n", reviewer}});
    e.answer = positive ? "positive" : "negative";
    e.rationale = fmt::format("The review calls the {} {} and the {} {}.\nBoth words are {}, so the review is {}.\n",
                              noun1, adj1, noun2, adj2, e.answer, e.answer);
    e.key = review + "|" + reviewer;  // the template is surface: one review is in one pool whatever its wording
    e.attrs = {{"reviewer", reviewer}, {"agrees", agrees ? "1" : "0"}, {"template", std::to_string(t)}};
    return e;
  }

 private:
  double agree_;
};

}  // namespace

std::unique_ptr<Task> make_sentiment_task(const std::string& args) { return std::make_unique<SentimentTask>(args); }

}  // namespace elab
