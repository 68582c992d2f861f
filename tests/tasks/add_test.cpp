#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "core/error.h"
#include "tasks/format.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"
#include "text/tokenizer.h"

namespace elab {

TEST(AddTask, DeterministicBySeedAndIndex) {
  auto t = make_task("add");
  for (int i = 0; i < 20; ++i) {
    auto a = t->example("id", Pool::train, 5, i), b = t->example("id", Pool::train, 5, i);
    EXPECT_EQ(a.question, b.question);
    EXPECT_EQ(a.answer, b.answer);
  }
  std::set<std::string> keys;
  for (int i = 0; i < 50; ++i) keys.insert(t->example("id", Pool::train, 6, i).key);
  EXPECT_GT(keys.size(), 40u);
}

TEST(AddTask, PoolsAndSplitsAreDisjoint) {
  auto t = make_task("add:digits=2");
  std::map<std::string, std::string> owner;  // key -> split/pool
  for (const std::string split : {"id", "ood-length"})
    for (Pool p : {Pool::train, Pool::exemplar, Pool::test})
      for (int i = 0; i < 300; ++i) {
        auto e = t->example(split, p, 1, i);
        std::string where = split + "/" + pool_name(p);
        auto [it, inserted] = owner.emplace(e.key, where);
        EXPECT_EQ(it->second, where) << "problem " << e.key << " is in " << it->second << " and " << where;
      }
}

TEST(AddTask, SplitsDifferInLength) {
  auto t = make_task("add");
  for (int i = 0; i < 100; ++i) {
    auto id = t->example("id", Pool::test, 2, i);
    auto ood = t->example("ood-length", Pool::test, 2, i);
    EXPECT_LE(std::stoi(id.attrs.at("digits")), 3);
    EXPECT_GE(std::stoi(ood.attrs.at("digits")), 4);
    EXPECT_LE(std::stoi(ood.attrs.at("digits")), 5);
  }
}

// An independent checker: replays the rationale's column sums and carries and checks
// that the digits written, read from the top, are the answer.
TEST(AddTask, RationaleReplaysToTheAnswer) {
  auto t = make_task("add");
  const std::regex col(R"((\d) \+ (\d)(?: \+ (\d))? = (\d+), write (\d), carry (\d))");
  const std::regex last(R"(write the carry (\d))");
  for (const std::string split : {"id", "ood-length"}) {
    for (int i = 0; i < 200; ++i) {
      auto e = t->example(split, Pool::train, 9, i);
      std::string digits;
      int carry = 0;
      std::smatch m;
      std::istringstream lines(e.rationale);
      for (std::string line; std::getline(lines, line);) {
        if (std::regex_match(line, m, col)) {
          int in_carry = m[3].matched ? std::stoi(m[3]) : 0;
          ASSERT_EQ(in_carry, carry) << line;
          int sum = std::stoi(m[1]) + std::stoi(m[2]) + in_carry;
          ASSERT_EQ(sum, std::stoi(m[4])) << line;
          ASSERT_EQ(sum % 10, std::stoi(m[5])) << line;
          ASSERT_EQ(sum / 10, std::stoi(m[6])) << line;
          digits.insert(digits.begin(), char('0' + sum % 10));
          carry = sum / 10;
        } else {
          ASSERT_TRUE(std::regex_match(line, m, last)) << line;
          ASSERT_EQ(std::stoi(m[1]), carry);
          digits.insert(digits.begin(), char('0' + carry));
          carry = 0;
        }
      }
      EXPECT_EQ(carry, 0);
      while (digits.size() > 1 && digits[0] == '0') digits.erase(0, 1);
      EXPECT_EQ(digits, e.answer) << e.question;
    }
  }
}

TEST(AddTask, OwnAnswersScoreCorrectInEveryFormat) {
  auto t = make_task("add");
  for (int i = 0; i < 50; ++i) {
    auto e = t->example("id", Pool::test, 4, i);
    for (Format f : {Format::direct, Format::cot}) {
      std::string out = render_target(e, f);
      EXPECT_TRUE(t->is_correct(t->extract_answer(out), e.answer)) << out;
    }
    EXPECT_FALSE(t->is_correct(t->extract_answer("I do not know"), e.answer));
  }
}

TEST(TaskRegistry, UnknownNamesAndOptionsAreErrors) {
  EXPECT_THROW(make_task("addition"), Error);
  EXPECT_THROW(make_task("add:digit=2"), Error);
  EXPECT_THROW(make_task("add:digits=0"), Error);
  EXPECT_THROW(make_task("add:templates=7"), Error);
  auto t = make_task("add");
  EXPECT_THROW(t->check_split("ood-depth"), Error);
  EXPECT_THROW(find_recipe("nonsense"), Error);
  EXPECT_THROW(parse_format("poem"), Error);
}

TEST(Format, FewShotPromptLayout) {
  Example a{"What is 1 + 2?", "", "3", "1+2", {}}, q{"What is 4 + 5?", "", "9", "4+5", {}};
  EXPECT_EQ(render_few_shot({a}, Format::direct, q), "Q: What is 1 + 2?\nA: 3\n\nQ: What is 4 + 5?\nA:");
  EXPECT_EQ(render_target(a, Format::cot), "\nSo the answer is 3.\n");
}

// symbols=1 (grokking's setting): each residue one character, so one token of the byte
// tokenizer, and the answer that character of (a + b) mod p; the pairs split as in the
// digit form.
TEST(ModAddTask, SymbolsWriteEachResidueAsOneToken) {
  auto digits = make_task("modadd:p=31"), symbols = make_task("modadd:p=31,symbols=1");
  EXPECT_EQ(symbols->answer_kind(), AnswerKind::text);
  std::set<std::string> answers;
  for (int i = 0; i < 200; ++i) {
    auto d = digits->example("id", Pool::train, 3, i), s = symbols->example("id", Pool::train, 3, i);
    EXPECT_EQ(d.key, s.key);  // the same problem, only written differently
    ASSERT_EQ(s.question.size(), 4u) << s.question;
    EXPECT_EQ(s.question.substr(1, 1), "+");
    EXPECT_EQ(s.question.back(), '=');
    ASSERT_EQ(s.answer.size(), 1u);
    EXPECT_EQ(Tokenizer().encode(s.answer).size(), 1u);
    answers.insert(s.answer);
  }
  EXPECT_GT(answers.size(), 25u);
  // Addition in symbols: a+0 = a (the symbol of 0 is 'A').
  for (int i = 0; i < 2000; ++i) {
    auto s = symbols->example("ood", Pool::test, 4, i);
    if (s.question[2] == 'A') EXPECT_EQ(s.answer[0], s.question[0]) << s.question;
    if (s.question[0] == 'A') EXPECT_EQ(s.answer[0], s.question[2]) << s.question;
  }
  EXPECT_THROW(make_task("modadd:p=97,symbols=1"), Error);  // more residues than symbols
  EXPECT_THROW(make_task("modadd:symbols=2"), Error);
}

}  // namespace elab
