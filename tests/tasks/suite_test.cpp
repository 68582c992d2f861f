// The task suite: determinism, disjoint pools and splits, rationales that replay to the
// answer under an independent checker, and answers that score as correct in every
// format they can be rendered in.
#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tasks/extract.h"
#include "tasks/format.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"

namespace elab {

static std::vector<std::string> synthetic_tasks() {
  std::vector<std::string> names;
  for (const auto& e : task_registry())
    if (!e.from_files) names.push_back(e.name);
  return names;
}

static std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(Suite, EveryGeneratedTaskIsDeterministicBySeed) {
  for (const auto& name : synthetic_tasks()) {
    auto t = make_task(name);
    for (const auto& split : t->split_names())
      for (int i = 0; i < 10; ++i) {
        auto a = t->example(split, Pool::train, 77, i), b = t->example(split, Pool::train, 77, i);
        EXPECT_EQ(a.question, b.question) << name;
        EXPECT_EQ(a.answer, b.answer) << name;
        EXPECT_EQ(a.rationale, b.rationale) << name;
      }
    auto x = t->example(t->default_split(), Pool::train, 1, 0), y = t->example(t->default_split(), Pool::train, 2, 0);
    EXPECT_NE(x.question + x.answer, y.question + y.answer) << name << ": seed changes nothing";
  }
}

TEST(Suite, PoolsAndSplitsNeverShareAProblem) {
  for (const auto& name : synthetic_tasks()) {
    if (name == "facts") continue;  // by design: its test items ask about its exemplars' facts (Facts.* below)
    auto t = make_task(name);
    std::map<std::string, std::string> owner;
    for (const auto& split : t->split_names())
      for (Pool p : {Pool::train, Pool::exemplar, Pool::test})
        for (int i = 0; i < 150; ++i) {
          auto e = t->example(split, p, 5, i);
          std::string where = split + "/" + pool_name(p);
          auto [it, inserted] = owner.emplace(e.key, where);
          ASSERT_EQ(it->second, where) << name << ": problem '" << e.key << "' in " << it->second << " and " << where;
        }
  }
}

TEST(Suite, EveryGeneratedTaskHasThreeSurfaceTemplates) {
  for (const auto& name : synthetic_tasks()) {
    auto t = make_task(name);
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
      auto e = t->example(t->default_split(), Pool::train, 3, i);
      seen.insert(e.attrs.count("template") ? e.attrs.at("template") : "");
    }
    if (name == "wordprob") continue;  // phrasing sets per operation, checked below
    if (name == "facts") continue;     // one wording per form: the forms are its splits
    if (name == "sentiment") {         // two wordings in id, two more in ood-template
      EXPECT_EQ(seen, (std::set<std::string>{"0", "1"}));
      continue;
    }
    EXPECT_GE(seen.size(), 3u) << name;
  }
}

TEST(Suite, GoldAnswersScoreCorrectInEveryFormat) {
  for (const auto& name : synthetic_tasks()) {
    auto t = make_task(name);
    for (const auto& split : t->split_names())
      for (int i = 0; i < 30; ++i) {
        auto e = t->example(split, Pool::test, 8, i);
        for (const auto& fname : formats_of(*t, e)) {
          Format f = parse_format(fname);
          if (f == Format::reverse) continue;  // read digits back to front; not an evaluation format
          std::string out = render_target(e, f);
          EXPECT_TRUE(t->is_correct(t->extract_answer(out), e.answer)) << name << " " << fname << ": " << out;
        }
        EXPECT_FALSE(t->is_correct(t->extract_answer(""), e.answer)) << name;
      }
  }
}

TEST(Suite, OutOfDistributionSplitsDifferWhereTheySaySo) {
  auto attr = [](const std::string& task, const std::string& split, const std::string& key) {
    auto t = make_task(task);
    std::set<int> values;
    for (int i = 0; i < 100; ++i) values.insert(std::stoi(t->example(split, Pool::test, 4, i).attrs.at(key)));
    return values;
  };
  EXPECT_EQ(*attr("coin", "id", "people").rbegin(), 4);
  EXPECT_EQ(*attr("coin", "ood-length", "people").begin(), 5);
  EXPECT_EQ(*attr("expr", "ood-depth", "operators").begin(), 5);
  EXPECT_LE(*attr("bool", "id", "depth").rbegin(), 2);
  EXPECT_GE(*attr("bool", "ood-depth", "depth").begin(), 3);
  EXPECT_LE(*attr("sort", "id", "length").rbegin(), 6);
  EXPECT_GE(*attr("sort", "ood-length", "length").begin(), 7);
  EXPECT_GE(*attr("induction", "ood-length", "length").begin(), 48);
  EXPECT_GE(*attr("wordprob", "ood-depth", "steps").begin(), 4);
  EXPECT_LE(*attr("wordprob", "ood-template", "steps").rbegin(), 3);
  // spurious: the colour agrees with the label ~90% in id and never in ood-flip
  auto t = make_task("spurious");
  int agree_id = 0, agree_ood = 0;
  for (int i = 0; i < 400; ++i) {
    agree_id += t->example("id", Pool::train, 1, i).attrs.at("agrees") == "1";
    agree_ood += t->example("ood-flip", Pool::train, 1, i).attrs.at("agrees") == "1";
  }
  EXPECT_NEAR(agree_id / 400.0, 0.9, 0.05);
  EXPECT_EQ(agree_ood, 0);
  // wordprob's ood-template phrasings never occur in id questions
  auto w = make_task("wordprob");
  for (int i = 0; i < 300; ++i) {
    auto q = w->example("id", Pool::train, 2, i).question;
    EXPECT_EQ(q.find("donates"), std::string::npos);
    EXPECT_EQ(q.find("final count"), std::string::npos);
    EXPECT_EQ(q.find("additional"), std::string::npos);
  }
  // fn: ood families never appear in id
  auto f = make_task("fn");
  for (int i = 0; i < 100; ++i) {
    auto fam = f->example("id", Pool::train, 2, i).attrs.at("family");
    EXPECT_TRUE(fam == "substitution" || fam == "affine" || fam == "append") << fam;
    auto ood = f->example("ood-family", Pool::train, 2, i).attrs.at("family");
    EXPECT_TRUE(ood == "prepend" || ood == "reverse") << ood;
  }
}

// ---- independent rationale checkers --------------------------------------------------

// A tiny recursive-descent evaluator for "a op (b op c)" with + - * over Z_p (p=0: Z)
// and for True/False with not/and/or: the checkers' own reading of a remaining expression.
struct Parser {
  std::string s;
  size_t i = 0;
  int64_t p = 0;
  void ws() { while (i < s.size() && s[i] == ' ') ++i; }
  int64_t mod(int64_t v) const { return p ? ((v % p) + p) % p : v; }
  int64_t number_expr() {
    int64_t v = number_atom();
    for (;;) {
      ws();
      if (i >= s.size() || s[i] == ')') return v;
      char op = s[i++];
      int64_t r = number_atom();
      v = mod(op == '+' ? v + r : op == '-' ? v - r : v * r);
    }
  }
  int64_t number_atom() {
    ws();
    if (s[i] == '(') {
      ++i;
      int64_t v = number_expr();
      ws();
      ++i;  // ')'
      return v;
    }
    size_t used = 0;
    int64_t v = std::stoll(s.substr(i), &used);
    i += used;
    return v;
  }
  bool bool_expr() {
    bool v = bool_atom();
    for (;;) {
      ws();
      if (i >= s.size() || s[i] == ')') return v;
      if (s.compare(i, 3, "and") == 0) {
        i += 3;
        bool r = bool_atom();
        v = v && r;
      } else {
        i += 2;  // "or"
        bool r = bool_atom();
        v = v || r;
      }
    }
  }
  bool bool_atom() {
    ws();
    if (s.compare(i, 3, "not") == 0) {
      i += 3;
      return !bool_atom();
    }
    if (s[i] == '(') {
      ++i;
      bool v = bool_expr();
      ws();
      ++i;
      return v;
    }
    if (s.compare(i, 4, "True") == 0) return i += 4, true;
    i += 5;
    return false;
  }
};

using Checker = std::function<void(const Example&)>;

static std::map<std::string, Checker> checkers() {
  std::map<std::string, Checker> c;
  c["mul"] = [](const Example& e) {
    std::smatch m;
    std::regex_match(e.key, m, std::regex(R"((\d+)\*(\d+))"));
    int64_t a = std::stoll(m[1]), b = std::stoll(m[2]), place_sum = 0, partial_sum = 0;
    auto ls = lines_of(e.rationale);
    static const std::regex part(R"((\d+) \* (\d+) = (\d+))");
    size_t k = 0;
    for (; k < ls.size() && std::regex_match(ls[k], m, part); ++k) {
      ASSERT_EQ(std::stoll(m[1]), a) << ls[k];
      ASSERT_EQ(std::stoll(m[1]) * std::stoll(m[2]), std::stoll(m[3])) << ls[k];
      place_sum += std::stoll(m[2]);
      partial_sum += std::stoll(m[3]);
    }
    EXPECT_EQ(place_sum, b) << "the multipliers must add up to b";
    int64_t total = partial_sum;
    if (k < ls.size()) {
      ASSERT_TRUE(std::regex_search(ls[k], m, std::regex(R"(= (\d+)$)"))) << ls[k];
      total = std::stoll(m[1]);
      EXPECT_EQ(total, partial_sum);
    }
    EXPECT_EQ(std::to_string(total), e.answer);
  };
  c["expr"] = [](const Example& e) {
    static const std::regex step(R"((-?\d+) ([-+*]) (-?\d+) = (-?\d+)(?:, giving (.*))?)");
    const int64_t p = 7;
    for (const auto& l : lines_of(e.rationale)) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(l, m, step)) << l;
      Parser arith{m[1].str() + " " + m[2].str() + " " + m[3].str(), 0, p};
      ASSERT_EQ(arith.number_expr(), std::stoll(m[4])) << l;
      if (m[5].matched) {
        Parser rest{m[5], 0, p};
        ASSERT_EQ(std::to_string(rest.number_expr()), e.answer) << "remaining expression of: " << l;
      } else {
        EXPECT_EQ(m[4].str(), e.answer);
      }
    }
    Parser whole{e.key.substr(0, e.key.find(" mod")), 0, p};
    EXPECT_EQ(std::to_string(whole.number_expr()), e.answer);
  };
  c["parity"] = [](const Example& e) {
    // Each step restates the next lettered bit of the question beside the parity so far.
    static const std::regex bit(R"(([a-z])([01]))"), step(R"(([a-z])([01])>([01]))");
    std::vector<std::pair<char, int>> bits;
    for (std::sregex_iterator it(e.question.begin(), e.question.end(), bit), end; it != end; ++it)
      bits.emplace_back((*it)[1].str()[0], (*it)[2].str()[0] - '0');
    int p = 0;
    size_t k = 0;
    for (std::sregex_iterator it(e.rationale.begin(), e.rationale.end(), step), end; it != end; ++it, ++k) {
      ASSERT_LT(k, bits.size());
      EXPECT_EQ((*it)[1].str()[0], bits[k].first);
      EXPECT_EQ((*it)[2].str()[0] - '0', bits[k].second);
      p ^= bits[k].second;
      EXPECT_EQ((*it)[3].str()[0] - '0', p);
    }
    EXPECT_EQ(k, bits.size());
    EXPECT_EQ(e.answer, std::to_string(p));
  };
  c["coin"] = [](const Example& e) {
    static const std::regex act(R"((\w+) (flips|does not flip) the coin\.)");
    static const std::regex line(R"((\w+) (flips|does not flip): (heads|tails))");
    std::vector<std::pair<std::string, bool>> actions;
    for (std::sregex_iterator it(e.question.begin(), e.question.end(), act), end; it != end; ++it)
      actions.emplace_back((*it)[1], (*it)[2] == "flips");
    auto ls = lines_of(e.rationale);
    ASSERT_EQ(ls.size(), actions.size());
    bool heads = true;
    for (size_t i = 0; i < ls.size(); ++i) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(ls[i], m, line)) << ls[i];
      ASSERT_EQ(m[1].str(), actions[i].first);
      heads ^= actions[i].second;
      ASSERT_EQ(m[3] == "heads", heads) << ls[i];
    }
    EXPECT_EQ(e.answer, heads ? "yes" : "no");
  };
  c["lastletter"] = [](const Example& e) {
    std::istringstream words(e.key);
    std::string w, joined;
    auto ls = lines_of(e.rationale);
    size_t i = 0;
    for (; words >> w; ++i) {
      joined.push_back(w.back());
      ASSERT_EQ(ls[i], "The last letter of \"" + w + "\" is \"" + std::string(1, w.back()) + "\".");
    }
    EXPECT_EQ(ls[i], "Concatenating them gives \"" + joined + "\".");
    EXPECT_EQ(joined, e.answer);
  };
  c["sort"] = [](const Example& e) {
    std::vector<int64_t> left;
    std::stringstream in(e.key);
    for (std::string x; std::getline(in, x, ',');) left.push_back(std::stoll(x));
    std::string out;
    static const std::regex step(R"(smallest of ([\d ]+) is (\d+))");
    for (const auto& l : lines_of(e.rationale)) {
      std::smatch m;
      if (std::regex_match(l, m, step)) {
        std::vector<int64_t> listed;
        std::istringstream ns(m[1].str());
        for (int64_t v; ns >> v;) listed.push_back(v);
        ASSERT_EQ(listed, left) << l;
        int64_t smallest = std::stoll(m[2]);
        ASSERT_EQ(smallest, *std::min_element(left.begin(), left.end())) << l;
        left.erase(std::find(left.begin(), left.end(), smallest));
        out += (out.empty() ? "" : " ") + std::to_string(smallest);
      } else {
        ASSERT_EQ(left.size(), 1u);
        ASSERT_EQ(l, "last is " + std::to_string(left[0]));
        out += " " + std::to_string(left[0]);
      }
    }
    EXPECT_EQ(out, e.answer);
  };
  c["bool"] = [](const Example& e) {
    static const std::regex step(R"(((?:not (?:True|False))|(?:(?:True|False) (?:and|or) (?:True|False))) = (True|False)(?:, giving (.*))?)");
    for (const auto& l : lines_of(e.rationale)) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(l, m, step)) << l;
      Parser op{m[1], 0, 0};
      ASSERT_EQ(op.bool_expr() ? "True" : "False", m[2].str()) << l;
      if (m[3].matched) {
        Parser rest{m[3], 0, 0};
        ASSERT_EQ(rest.bool_expr() ? "True" : "False", e.answer) << l;
      }
    }
    Parser whole{e.key, 0, 0};
    EXPECT_EQ(whole.bool_expr() ? "True" : "False", e.answer);
  };
  c["wordprob"] = [](const Example& e) {
    static const std::regex step(R"((\d+) ([-+*]) (\d+) = <<(\d+)([-+*])(\d+)=(\d+)>>(\d+))");
    std::smatch m0;
    std::regex_search(e.question, m0, std::regex(R"(has (\d+) )"));
    int64_t value = std::stoll(m0[1]);
    for (const auto& l : lines_of(e.rationale)) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(l, m, step)) << l;
      ASSERT_EQ(std::stoll(m[1]), value) << "each step starts from the previous result: " << l;
      int64_t k = std::stoll(m[3]);
      int64_t r = m[2] == "+" ? value + k : m[2] == "-" ? value - k : value * k;
      ASSERT_EQ(std::stoll(m[7]), r) << l;
      ASSERT_EQ(std::stoll(m[8]), r) << l;
      value = r;
    }
    EXPECT_EQ(std::to_string(value), e.answer);
  };
  c["spurious"] = [](const Example& e) {
    std::vector<int64_t> xs;
    std::istringstream in(e.key.substr(e.key.find(':') + 1));
    for (int64_t v; in >> v;) xs.push_back(v);
    auto ls = lines_of(e.rationale);
    ASSERT_EQ(ls[0], "The first number is " + std::to_string(xs.front()) + " and the last is " + std::to_string(xs.back()) + ".");
    bool label = xs.front() > xs.back();
    EXPECT_NE(ls[1].find(label ? ">" : "<"), std::string::npos);
    EXPECT_EQ(e.answer, label ? "yes" : "no");
  };
  c["sentiment"] = [](const Example& e) {
    // Both adjectives the rationale names are in the question and of the answer's polarity.
    static const std::regex words(R"(The review calls the (.+) (\w+) and the (.+) (\w+)\.)");
    auto ls = lines_of(e.rationale);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(ls[0], m, words)) << ls[0];
    EXPECT_NE(e.question.find("The " + m[1].str() + " was " + m[2].str() + " and the " + m[3].str() + " was " + m[4].str()),
              std::string::npos);
    EXPECT_EQ(ls[1], "Both words are " + e.answer + ", so the review is " + e.answer + ".");
  };
  c["facts"] = [](const Example& e) {
    // The rationale states facts whose last mentor is the answer, and the answer is an option.
    auto ls = lines_of(e.rationale);
    ASSERT_FALSE(ls.empty());
    const auto& form = e.attrs.at("form");
    if (form == "reversed") EXPECT_EQ(ls[0].rfind(e.answer + "'s mentor is ", 0), 0u) << ls[0];
    else EXPECT_EQ(ls.back().substr(ls.back().size() - e.answer.size() - 1), e.answer + ".");
    EXPECT_EQ(ls.size(), form == "composed" ? 2u : 1u);
    EXPECT_TRUE(e.attrs.at("option1") == e.answer || e.attrs.at("option2") == e.answer);
  };
  // Tasks without a rationale: the answer recomputed from the problem itself.
  c["modadd"] = [](const Example& e) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(e.key, m, std::regex(R"((\d+)\+(\d+) mod (\d+))")));
    EXPECT_TRUE(e.rationale.empty());
    EXPECT_EQ(e.answer, std::to_string((std::stoll(m[1]) + std::stoll(m[2])) % std::stoll(m[3])));
  };
  c["induction"] = [](const Example& e) {
    EXPECT_EQ(e.answer, e.key);
    EXPECT_NE(e.question.find(e.answer), std::string::npos);
  };
  c["iclass"] = [](const Example& e) {
    EXPECT_TRUE(e.rationale.empty());
    ASSERT_EQ(e.answer.size(), 1u);
    EXPECT_TRUE(e.answer[0] >= 'A' && e.answer[0] <= 'Z') << e.answer;
    // Where the context decides (novel, swapped), the answer is a label it shows.
    if (e.key.rfind("ood-novel", 0) == 0 || e.key.rfind("ood-swapped", 0) == 0)
      EXPECT_NE(e.question.find(e.answer), std::string::npos) << e.question;
  };
  c["fn"] = [](const Example& e) {
    // Every shown pair must follow the same function as the answer: check the family's law.
    static const std::regex pair(R"(f\((\w+)\) = (\w+))");
    std::string family = e.attrs.at("family");
    std::vector<std::pair<std::string, std::string>> pairs;
    for (std::sregex_iterator it(e.question.begin(), e.question.end(), pair), end; it != end; ++it)
      pairs.emplace_back((*it)[1], (*it)[2]);
    ASSERT_GE(pairs.size(), 1u);
    std::smatch q;
    ASSERT_TRUE(std::regex_search(e.question, q, std::regex(R"(f\((\w+)\)(?: = \?|\?|\.))")));
    pairs.emplace_back(q[1], e.answer);
    for (const auto& [x, y] : pairs) {
      if (family == "reverse") EXPECT_EQ(y, std::string(x.rbegin(), x.rend()));
      if (family == "append") EXPECT_EQ(y.substr(0, x.size()), x);
      if (family == "prepend") EXPECT_EQ(y.substr(y.size() - x.size()), x);
      if (family == "substitution") EXPECT_EQ(y.size(), x.size());
    }
    if (family == "append" || family == "prepend") {  // one affix for all pairs
      std::set<std::string> affixes;
      for (const auto& [x, y] : pairs) affixes.insert(family == "append" ? y.substr(x.size()) : y.substr(0, 2));
      EXPECT_EQ(affixes.size(), 1u);
    }
    if (family == "substitution") {  // one consistent letter map
      std::map<char, char> map;
      for (const auto& [x, y] : pairs)
        for (size_t i = 0; i < x.size(); ++i) {
          auto [it, inserted] = map.emplace(x[i], y[i]);
          EXPECT_EQ(it->second, y[i]);
        }
    }
    if (family == "affine") {  // some a, b fit every pair
      bool found = false;
      for (int a = 1; a < 17 && !found; ++a)
        for (int b = 0; b < 17 && !found; ++b) {
          bool fits = true;
          for (const auto& [x, y] : pairs) fits &= (a * std::stoi(x) + b) % 17 == std::stoi(y);
          found = fits;
        }
      EXPECT_TRUE(found);
    }
  };
  return c;
}

TEST(Suite, EveryRationaleReplaysToTheAnswer) {
  auto check = checkers();
  for (const auto& name : synthetic_tasks()) {
    if (name == "add") continue;  // add_test.cpp has its own replay
    ASSERT_TRUE(check.count(name)) << "no rationale checker for task " << name;
    auto t = make_task(name);
    for (const auto& split : t->split_names())
      for (int i = 0; i < 150; ++i) {
        auto e = t->example(split, Pool::train, 21, i);
        SCOPED_TRACE(name + " " + split + ": " + e.question);
        check[name](e);
        if (HasFatalFailure()) return;
      }
  }
}

// ---- recipes --------------------------------------------------------------------------

TEST(Recipes, BuiltinsShareTasksDifferInFormatAndHoldOutDownstreamTasks) {
  std::set<std::string> base_tasks;
  for (const auto& e : find_recipe("base").entries) base_tasks.insert(e.task);
  for (const char* name : {"base", "cot", "code", "instruct", "mix"}) {
    Recipe r = find_recipe(name);
    std::set<std::string> tasks;
    double total = 0;
    for (const auto& e : r.entries) tasks.insert(e.task), total += e.weight;
    EXPECT_EQ(tasks, base_tasks) << name;
    EXPECT_NEAR(total, double(base_tasks.size()), 1e-9) << name << ": same token share per task";
    for (const auto& held : held_out_tasks()) EXPECT_FALSE(tasks.count(held)) << name << " holds " << held;
  }
}

TEST(Recipes, TomlRecipesParseAndBadOnesNameTheProblem) {
  Recipe r = parse_recipe_toml(R"(
name = "mine"
style = "single"
loss = "answer"
[[task]]
name = "add:digits=2"
format = "cot"
weight = 2.0
[[task]]
name = "coin"
)",
                               "mine.toml");
  EXPECT_EQ(r.name, "mine");
  EXPECT_FALSE(r.bursty);
  EXPECT_TRUE(r.answer_only_loss);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].format, Format::cot);
  EXPECT_EQ(r.entries[1].weight, 1.0);
  auto error_of = [](const std::string& text) {
    try {
      parse_recipe_toml(text, "bad.toml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("name = \n").find("bad.toml:1"), std::string::npos);
  EXPECT_NE(error_of("[[task]]\nname = \"nope\"\n").find("unknown task 'nope'"), std::string::npos);
  EXPECT_NE(error_of("[[task]]\nname = \"add\"\nformat = \"poem\"\n").find("unknown format"), std::string::npos);
  EXPECT_NE(error_of("colour = 1\n[[task]]\nname = \"add\"\n").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of("[[task]]\nname = \"add\"\nweight = -1.0\n").find("positive weight"), std::string::npos);
  EXPECT_NE(error_of("style = \"wavy\"\n[[task]]\nname = \"add\"\n").find("style"), std::string::npos);
}

TEST(Recipes, EveryBuiltinRecipeStreams) {
  for (const auto& r : builtin_recipes()) {
    RecipeStream s(r, 1, Pool::train);
    TokenBatch b;
    s.batch(0, 4, 128, b);
    EXPECT_EQ(b.tokens.size(), 4u * 129) << r.name;
  }
}

}  // namespace elab

// ---- tasks written for pretrained models (issue 32) -------------------------------------

namespace elab {

TEST(Facts, TheExemplarPoolIsTheWorldsFactsAndTestItemsAskAboutThem) {
  auto t = make_task("facts");
  // "a's mentor is b" for every fact the pool states, whatever the seed orders them.
  std::map<std::string, std::string> mentor;
  std::set<std::string> keys_seed1, keys_seed2;
  for (int i = 0; i < 12; ++i) {
    auto a = t->example("id", Pool::exemplar, 1, i), b = t->example("id", Pool::exemplar, 2, i);
    keys_seed1.insert(a.key), keys_seed2.insert(b.key);
    const std::string subject = a.question.substr(std::string("Who is ").size(), a.question.find("'s mentor") - 7);
    mentor[subject] = a.answer;
  }
  EXPECT_EQ(keys_seed1.size(), 12u);
  EXPECT_EQ(keys_seed1, keys_seed2) << "the seed orders the facts; it does not change them";
  EXPECT_NE(t->example("id", Pool::exemplar, 1, 0).key, t->example("id", Pool::exemplar, 2, 0).key);
  int reversed = 0, composed = 0;
  for (int i = 0; i < 60; ++i) {
    auto r = t->example("ood-reversed", Pool::test, 3, i);
    const std::string b = r.question.substr(std::string("Whose mentor is ").size(), r.question.size() - 17);
    EXPECT_EQ(mentor.at(r.answer), b) << r.question;
    auto c = t->example("ood-syllogism", Pool::test, 3, i);
    const std::string a = c.question.substr(std::string("Who is the mentor of ").size(), c.question.find("'s mentor?") - 21);
    EXPECT_EQ(mentor.at(mentor.at(a)), c.answer) << c.question;
    // The distractor is never linked to the subject by a fact (not the middle name).
    const std::string distractor = c.attrs.at("option1") == c.answer ? c.attrs.at("option2") : c.attrs.at("option1");
    EXPECT_NE(distractor, mentor.at(a)) << c.question;
    EXPECT_EQ(t->answer_options(c).size(), 2u);
    reversed += r.answer != "", composed += c.answer != "";
  }
  EXPECT_EQ(reversed, 60);
  // The augmented pool: the facts, their reversals and their compositions; the same test items.
  auto aug = make_task("facts:augmented=1");
  EXPECT_EQ(aug->pool_size("id", Pool::exemplar), 30);
  std::map<std::string, int> forms;
  for (int i = 0; i < 30; ++i) forms[aug->example("id", Pool::exemplar, 1, i).attrs.at("form")] += 1;
  EXPECT_EQ(forms, (std::map<std::string, int>{{"composed", 6}, {"forward", 12}, {"reversed", 12}}));
  EXPECT_EQ(aug->example("ood-reversed", Pool::test, 3, 7).question, t->example("ood-reversed", Pool::test, 3, 7).question);
  std::set<std::string> names1, names2;
  for (int i = 0; i < 12; ++i) {
    names1.insert(t->example("id", Pool::exemplar, 1, i).answer);
    names2.insert(make_task("facts:world=2")->example("id", Pool::exemplar, 1, i).answer);
  }
  EXPECT_NE(names1, names2) << "another world, other names";
  EXPECT_THROW(make_task("facts:chains=1"), Error);
  // augmented=self: the same 30 statements; the 18 inferences are the base's to answer in
  // context (study/finetune_job.cpp), the 12 facts are given.
  auto self = make_task("facts:augmented=self");
  ASSERT_EQ(self->pool_size("id", Pool::exemplar), 30);
  std::map<std::string, int> by_form;
  for (int i = 0; i < 30; ++i) {
    const auto e = self->example("id", Pool::exemplar, 1, i), oracle = aug->example("id", Pool::exemplar, 1, i);
    EXPECT_EQ(e.key, oracle.key);
    EXPECT_EQ(e.attrs.count("answer_by") == 1, e.attrs.at("form") != "forward") << e.question;
    if (e.attrs.count("answer_by")) {
      EXPECT_EQ(e.attrs.at("answer_by"), "in-context");
      ++by_form[e.attrs.at("form")];
    }
    EXPECT_EQ(oracle.attrs.count("answer_by"), 0u);
  }
  EXPECT_EQ(by_form, (std::map<std::string, int>{{"composed", 6}, {"reversed", 12}}));
  try {
    make_task("facts:augmented=2");
    ADD_FAILURE() << "augmented=2 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("augmented must be one of 0, 1, self, got '2'"), std::string::npos) << e.what();
  }
}

// Pre-training on facts (Lampinen et al. 2025 on the lab's own models): each document is a
// new random world, its facts stated, then asked forward, reversed and composed; only the
// asked answers are targets, and the task's own world is never stated.
TEST(Facts, PretrainingEpisodesAreNewWorldsStatedThenAskedBothWays) {
  auto t = make_task("facts:chains=3,names=letters,wording=symbols");
  std::set<std::string> test_world;
  for (int i = 0; i < 6; ++i) {
    const auto e = t->example("id", Pool::exemplar, 1, i);
    test_world.insert(e.question + e.answer);
  }
  std::map<std::string, int> forms;
  int same_world = 0;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const auto episode = t->episode(seed);
    ASSERT_TRUE(episode.has_value());
    ASSERT_EQ(episode->stated.size(), 6u);
    ASSERT_EQ(episode->asked.size(), 18u) << "three questions a fact";
    std::map<std::string, std::string> mentor;  // the episode's world, from its stated facts
    std::set<std::string> stated;
    for (const auto& e : episode->stated) {
      EXPECT_EQ(e.attrs.at("form"), "forward");
      EXPECT_EQ(e.answer.size(), 1u) << "names=letters: one capital a name";
      EXPECT_EQ(e.question, e.question.substr(0, 1) + ">?");
      mentor[e.question.substr(0, 1)] = e.answer;
      stated.insert(e.question + e.answer);
    }
    EXPECT_EQ(mentor.size(), 6u);
    same_world += stated == test_world;
    for (const auto& e : episode->asked) {
      const std::string form = e.attrs.at("form");
      ++forms[form];
      if (form == "forward") {
        EXPECT_EQ(mentor.at(e.question.substr(0, 1)), e.answer) << e.question;
      } else if (form == "reversed") {
        EXPECT_EQ(e.question.substr(0, 2), "?>");
        EXPECT_EQ(mentor.at(e.answer), e.question.substr(2, 1)) << e.question;
      } else {
        EXPECT_EQ(e.question.substr(1), ">>?");
        EXPECT_EQ(mentor.at(mentor.at(e.question.substr(0, 1))), e.answer) << e.question;
      }
    }
  }
  EXPECT_EQ(same_world, 0) << "the test world is never stated in pre-training";
  for (const char* form : {"forward", "reversed", "composed"}) EXPECT_GT(forms[form], 200) << form;
  EXPECT_EQ(t->episode(7)->asked[0].key, t->episode(7)->asked[0].key);
  EXPECT_NE(t->episode(7)->stated[0].key + t->episode(7)->stated[1].key, t->episode(8)->stated[0].key + t->episode(8)->stated[1].key);
  EXPECT_FALSE(make_task("add")->episode(7).has_value());
  // The sentences are the default wording; the test items are the same facts either way.
  EXPECT_EQ(make_task("facts:chains=3,names=letters")->example("ood-reversed", Pool::test, 1, 0).question.substr(0, 16),
            "Whose mentor is ");
  EXPECT_EQ(make_task("facts:chains=3,names=letters")->example("ood-reversed", Pool::test, 1, 0).answer,
            t->example("ood-reversed", Pool::test, 1, 0).answer);
  try {
    make_task("facts:chains=8,names=letters");
    ADD_FAILURE() << "8 chains of one-letter names were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chains must be at most 7"), std::string::npos) << e.what();
  }

  // The recipe stream writes one episode a document and counts only the asked answers.
  Recipe r = find_recipe("task:facts:chains=3,names=letters,wording=symbols");
  r.answer_only_loss = true;
  RecipeStream stream(r, 1, Pool::train);
  TokenBatch b;
  stream.batch(0, 2, 300, b);
  ByteTokenizer tok;
  for (int row = 0; row < 2; ++row) {
    const int32_t* ids = b.tokens.data() + row * 301;
    EXPECT_EQ(ids[0], ByteTokenizer::kBos);
    const std::string text = tok.decode(std::vector<int32_t>(ids, ids + 301));
    size_t seventh = 0;
    for (int q = 0; q < 7; ++q) seventh = text.find("Q: ", q == 0 ? 0 : seventh + 1);
    ASSERT_NE(seventh, std::string::npos) << text;
    int64_t before = 0, after = 0;
    for (int64_t p = 0; p < 300; ++p) (size_t(p) < seventh ? before : after) += b.loss_mask[size_t(row * 300 + p)];
    EXPECT_EQ(before, 0) << "a stated fact's answer is never a target:\n" << text;
    EXPECT_GE(after, 18) << text;
  }
}

TEST(Sentiment, EachSplitShiftsOneThing) {
  auto t = make_task("sentiment");
  const std::vector<std::string> film = {"plot", "acting", "soundtrack", "ending", "script", "cast", "dialogue", "pacing", "story"};
  int agree_id = 0;
  for (int i = 0; i < 400; ++i) {
    auto id = t->example("id", Pool::train, 1, i);
    agree_id += id.attrs.at("agrees") == "1";
    EXPECT_LE(std::stoi(id.attrs.at("template")), 1);
    auto flip = t->example("ood-flip", Pool::test, 1, i);
    EXPECT_EQ(flip.attrs.at("reviewer"), flip.answer == "positive" ? "Tom" : "Ann") << flip.question;
    EXPECT_GE(std::stoi(t->example("ood-template", Pool::test, 1, i).attrs.at("template")), 2);
    auto domain = t->example("ood-domain", Pool::test, 1, i);
    for (const auto& noun : film) EXPECT_EQ(domain.question.find("The " + noun + " was"), std::string::npos) << domain.question;
    EXPECT_EQ(t->answer_options(id), (std::vector<std::string>{"positive", "negative"}));
  }
  EXPECT_NEAR(agree_id / 400.0, 0.9, 0.05);
}

}  // namespace elab
