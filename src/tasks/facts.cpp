// facts: fictional facts about nonsense people, after Lampinen et al. 2025 ("On the
// generalization of language models from in-context learning and finetuning: a
// controlled study") and the reversal curse (Berglund et al. 2023). A world of `chains`
// chains a -> b -> c ("a's mentor is b", "b's mentor is c") over made-up names is fixed by
// `world`; no model has seen it. Its facts are the exemplar pool: the same facts are shown
// in context (icl:K with K = the number of facts shows them all) or fine-tuned on (N = K).
// The splits ask about them in other forms; an item's answer is a name, and its two
// options for likelihood scoring are that name and a distractor from the world:
// - id: the fact as stated ("Who is a's mentor?");
// - ood-reversed: the fact reversed ("Whose mentor is b?");
// - ood-syllogism: two facts composed ("Who is the mentor of a's mentor?").
// With wording=symbols the three are "a>?", "?>b" and "a>>?", for models too small to read
// facts spread over sentences (studies/reproduce/facts-icl-ft.toml).
// The exemplar pool holds each fact once (with a distractor drawn from the world seed),
// so the facts shown are the world's, whichever seed orders them. With augmented=1 the
// pool also holds every reversed and composed statement: fine-tuning on the facts plus
// their inferences (an oracle form of Lampinen et al.'s augmented fine-tuning). With
// augmented=self the pool holds the same questions marked answer_by=in-context: the
// fine-tuning job has the base answer each with the stated facts in context and trains on
// its answers, right or wrong (Lampinen et al.'s form; study/finetune_job.cpp).
// Pre-training on `facts` (a recipe "task:facts...") never shows the world: each document
// is an episode of a new random world of the same size, its facts stated forward, then
// questions about them asked forward, reversed and composed, so that a model learns to
// read facts in context both ways (Lampinen et al.'s in-context side) without learning
// any fact the test asks about.
#include <algorithm>
#include <array>
#include <numeric>
#include <string_view>

#include "core/hash.h"
#include "tasks/registry.h"
#include "tasks/synthetic.h"

namespace elab {
namespace {

// A world: chains a -> b -> c of distinct made-up names.
using World = std::vector<std::array<std::string, 3>>;

// The capitals a one-letter name can be: not A, Q or W, which begin the prompt's "Q:",
// "A:" and "Who", so a name is never the first letter of the template's own words.
constexpr std::string_view kLetterNames = "BCDEFGHIJKLMNOPRSTUVXYZ";

// `chains` chains of distinct names drawn from `rng`: two-syllable words ("Dovak"), or
// with `letters` single capitals (one token of the byte tokenizer each).
World draw_world(Rng& rng, int64_t chains, bool letters) {
  const std::string consonants = "bdfgklmnprstvz", vowels = "aeiou";
  std::vector<std::string> names;
  while (int64_t(names.size()) < 3 * chains) {
    std::string n;
    if (letters) {
      n = std::string(1, kLetterNames[size_t(rng.uniform_int(0, int64_t(kLetterNames.size()) - 1))]);
    } else {
      for (int s = 0; s < 2; ++s) {
        n += consonants[size_t(rng.uniform_int(0, int64_t(consonants.size()) - 1))];
        n += vowels[size_t(rng.uniform_int(0, int64_t(vowels.size()) - 1))];
      }
      n += consonants[size_t(rng.uniform_int(0, int64_t(consonants.size()) - 1))];
      n[0] = char(n[0] - 'a' + 'A');
    }
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  World world;
  for (int64_t c = 0; c < chains; ++c) world.push_back({names[size_t(3 * c)], names[size_t(3 * c + 1)], names[size_t(3 * c + 2)]});
  return world;
}

class FactsTask : public Task {
 public:
  explicit FactsTask(const std::string& args) {
    TaskOptions o("facts", args, {"world", "chains", "augmented", "names", "wording"});
    world_ = uint64_t(o.integer("world", 1, 1, 1000000));
    chains_ = o.integer("chains", 6, 2, 40);
    augmented_ = o.choice("augmented", "0", {"0", "1", "self"});
    letters_ = o.choice("names", "words", {"words", "letters"}) == "letters";
    symbols_ = o.choice("wording", "sentences", {"sentences", "symbols"}) == "symbols";
    check(!letters_ || 3 * chains_ <= int64_t(kLetterNames.size()),
          "facts: names=letters draws the {} names of {} chains from {} capitals, so chains must be at most {}, got {}",
          3 * chains_, chains_, kLetterNames.size(), kLetterNames.size() / 3, chains_);
    Rng rng(derive_seed(world_, "facts/world"));
    world_names_ = draw_world(rng, chains_, letters_);
  }
  std::string name() const override { return "facts"; }
  std::string description() const override {
    return fmt::format("fictional mentor facts, world {}: {} chains of 3 {}, {} facts{}{}", world_, chains_,
                       letters_ ? "one-letter names" : "names", 2 * chains_, symbols_ ? " written a>b" : "",
                       augmented_ == "1"      ? ", exemplars with their reversals and compositions"
                       : augmented_ == "self" ? ", exemplars with their reversals and compositions as the model infers them"
                                              : "");
  }
  std::string instruction() const override { return "Answer with a name."; }
  AnswerKind answer_kind() const override { return AnswerKind::text; }
  std::vector<std::string> answer_options(const Example& e) const override {
    return {e.attrs.at("option1"), e.attrs.at("option2")};
  }
  std::vector<SplitInfo> splits() const override {
    return {{"id", "the facts as stated, with new distractors"},
            {"ood-reversed", "the facts reversed: whose mentor is b?"},
            {"ood-syllogism", "two facts composed: who is the mentor of a's mentor?"}};
  }
  std::string exemplar_split() const override { return "id"; }
  int64_t pool_size(const std::string& split, Pool pool) const override {
    if (pool == Pool::test) return -1;
    return int64_t(statements().size());  // train and exemplar pools: the world's statements
  }

  Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const override {
    check_split(split);
    if (pool != Pool::test) {
      // The statements in an order drawn from the seed; index i of that order.
      const auto& all = statements();
      std::vector<size_t> order(all.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      Rng rng(derive_seed(seed, "facts/order"));
      rng.shuffle(order);
      const Statement& s = all[order[size_t(index % int64_t(order.size()))]];
      // The distractor is fixed by the world, so a fact is one example whichever seed shows it.
      Rng fixed(derive_seed(world_, "facts/distractor/" + s.form, {uint64_t(s.chain)}));
      Example e = question(world_names_, s.form, s.chain, fixed);
      if (augmented_ == "self" && s.form != "forward") e.attrs["answer_by"] = "in-context";
      return e;
    }
    Rng rng(derive_seed(seed, "facts/test/" + split, {uint64_t(index)}));
    const std::string form = split == "id" ? "forward" : split == "ood-reversed" ? "reversed" : "composed";
    // Forward and reversed questions cover both facts of a chain (a-b and b-c).
    const int64_t facts = form == "composed" ? chains_ : 2 * chains_;
    return question(world_names_, form, rng.uniform_int(0, facts - 1), rng);
  }

  // A new random world of the task's size (never the task's own world, but for a
  // collision of all its 3C names): its 2C facts stated forward in a random order, then
  // three questions for each fact, in another order, each asked forward, reversed or
  // (about the fact's chain) composed with probability 1/3. Three a fact, because the
  // answers are the only targets: with one, pilot models of 10^5 parameters had not left
  // the uniform guess over names after 12M tokens.
  std::optional<Episode> episode(uint64_t seed) const override {
    Rng rng(derive_seed(seed, "facts/episode"));
    const World world = draw_world(rng, chains_, letters_);
    std::vector<int64_t> facts(size_t(2 * chains_));
    std::iota(facts.begin(), facts.end(), 0);
    Episode episode;
    rng.shuffle(facts);
    for (int64_t f : facts) episode.stated.push_back(question(world, "forward", f, rng));
    std::vector<int64_t> asked;
    for (int repeat = 0; repeat < 3; ++repeat) asked.insert(asked.end(), facts.begin(), facts.end());
    rng.shuffle(asked);
    static const std::array<const char*, 3> forms = {"forward", "reversed", "composed"};
    for (int64_t f : asked) {
      const std::string form = forms[size_t(rng.uniform_int(0, 2))];
      episode.asked.push_back(question(world, form, form == "composed" ? f / 2 : f, rng));
    }
    return episode;
  }

 private:
  struct Statement {
    std::string form;  // forward | reversed | composed
    int64_t chain;     // forward, reversed: the fact 0..2*chains-1; composed: the chain
  };

  std::vector<Statement> statements() const {
    std::vector<Statement> out;
    for (int64_t f = 0; f < 2 * chains_; ++f) out.push_back({"forward", f});
    if (augmented_ != "0") {
      for (int64_t f = 0; f < 2 * chains_; ++f) out.push_back({"reversed", f});
      for (int64_t c = 0; c < chains_; ++c) out.push_back({"composed", c});
    }
    return out;
  }

  // Fact f: chain f / 2, link f % 2 (a->b or b->c); its subject and its mentor.
  static std::pair<std::string, std::string> fact(const World& world, int64_t f) {
    const auto& c = world[size_t(f / 2)];
    return f % 2 == 0 ? std::pair{c[0], c[1]} : std::pair{c[1], c[2]};
  }

  Example question(const World& world, const std::string& form, int64_t which, Rng& rng) const {
    std::string subject, answer, text;
    if (form == "composed") {
      subject = world[size_t(which)][0], answer = world[size_t(which)][2];
    } else {
      auto [a, b] = fact(world, which);
      subject = form == "forward" ? a : b;
      answer = form == "forward" ? b : a;
    }
    // A distractor from another chain, so that no option is linked to the subject by a
    // fact (the middle name of a composed question would be).
    const int64_t own_chain = form == "composed" ? which : which / 2;
    int64_t other = rng.uniform_int(0, int64_t(world.size()) - 2);
    if (other >= own_chain) ++other;
    const std::string distractor = world[size_t(other)][size_t(rng.uniform_int(0, 2))];
    const bool answer_first = rng.bernoulli(0.5);
    const std::string o1 = answer_first ? answer : distractor, o2 = answer_first ? distractor : answer;
    // The options are not in the question: a generated answer is any name (the model must
    // recall it), and likelihood scoring (mc:K) chooses between the two.
    if (symbols_) {  // ">" for "'s mentor is": a > b
      text = form == "forward" ? subject + ">?" : form == "reversed" ? "?>" + subject : subject + ">>?";
    } else if (form == "forward") {
      text = fmt::format("Who is {}'s mentor?", subject);
    } else if (form == "reversed") {
      text = fmt::format("Whose mentor is {}?", subject);
    } else {
      text = fmt::format("Who is the mentor of {}'s mentor?", subject);
    }
    Example e;
    e.question = text;
    e.answer = answer;
    e.key = fmt::format("{}:{}:{}:{}", form, subject, o1, o2);
    e.attrs = {{"form", form}, {"option1", o1}, {"option2", o2}, {"world", std::to_string(world_)}};
    if (form == "composed") {
      const std::string& middle = world[size_t(which)][1];
      e.rationale = fmt::format("{}'s mentor is {}.\n{}'s mentor is {}.\n", subject, middle, middle, answer);
    } else {
      e.rationale = form == "forward" ? fmt::format("{}'s mentor is {}.\n", subject, answer)
                                      : fmt::format("{}'s mentor is {}.\n", answer, subject);
    }
    return e;
  }

  uint64_t world_;
  int64_t chains_;
  std::string augmented_;  // "0", "1" (true inferences) or "self" (the model's, in context)
  bool letters_ = false;   // names=letters: one capital a name
  bool symbols_ = false;   // wording=symbols: "a>?", "?>b", "a>>?" instead of the sentences
  World world_names_;
};

}  // namespace

std::unique_ptr<Task> make_facts_task(const std::string& args) { return std::make_unique<FactsTask>(args); }

}  // namespace elab
