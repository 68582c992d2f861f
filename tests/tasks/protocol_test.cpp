// The published scoring protocols (tasks/extract.h): BIG-Bench-Hard's exact match after
// the last "the answer is", GSM8K's number after its cue, each against constructed
// outputs; then on the real data (skipped with a message when ../shared/data is absent):
// every item counted, every gold target correct under the strict rule, and the cases
// where lenient extraction would have scored a wrong answer as right.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fs.h"
#include "tasks/extract.h"
#include "tasks/file_task.h"
#include "tasks/format.h"
#include "tasks/registry.h"
#include "data_util.h"

namespace elab {

struct Case {
  const char* output;
  const char* want;
};

TEST(Protocol, BbhStrictTakesTheLineAfterTheLastCueAndNothingElse) {
  const Case cases[] = {
      {"Let's think step by step. A is 3. So the answer is (A).", "(A)"},
      {"So the answer is (A) or (B).", "(A) or (B)"},                    // two options named
      {"So the answer is (A), although (B) is possible.", "(A), although (B) is possible"},
      {"So the answer is probably (C).", "probably (C)"},                // a cue followed by hedging
      {"So the answer is (A). On reflection the answer is (B).", "(B)"},  // the last cue
      {"So the answer is (B)", "(B)"},                                    // no final period
      {"So the answer is (C).\nQ: the next question", "(C)"},
      {"So the answer is B.", "B"},                                       // not the target "(B)"
      {"The answer is Yes.", "Yes"},
      {"So the answer is yes.", "yes"},                                   // case counts: not "Yes"
      {"So the answer is ] } ].", "] } ]"},
      {"So the answer is Monsters, Inc.", "Monsters, Inc"},
      {"So the answer is   valid .  ", "valid"},
      {"So the answer is (A)..", "(A)."},                                // one period removed, not two
      {"The answer is: (A).", ": (A)"},                                   // the harness needs the space too
      {"Let's think step by step. (A) is the odd one out.", "Let's think step by step. (A) is the odd one out"},
      {"Let's think.\n(B)", "Let's think"},                               // no cue: the first line, no guess
      {"(A)", "(A)"},                                                     // answer-only prompting
      {" True\n", "True"},
      {"", ""},
      {" \n \n", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(extract_bbh_strict(c.output), c.want) << "output: " << c.output;
  // What lenient extraction makes of the same outputs: the guesses strict refuses.
  EXPECT_EQ(extract_choice("So the answer is (A) or (B)."), "(A)");
  EXPECT_EQ(extract_choice("Let's think step by step. (A) is the odd one out."), "(A)");
  EXPECT_EQ(extract_choice("So the answer is B."), "(B)");
}

TEST(Protocol, Gsm8kStrictTakesTheNumberRightAfterTheLastCue) {
  const Case cases[] = {
      {"#### 18", "18"},
      {"####18", "18"},
      {"#### 1,234", "1234"},                              // commas removed
      {"The answer is 18.", "18"},                         // final period removed
      {"So the answer is 1,000.", "1000"},
      {"The answer is 18 dollars.", "18"},                 // units after the number
      {"The answer is 18.5.", "18.5"},
      {"the answer is 0.5.", "0.5"},
      {"The answer is -3.", "-3"},
      {"The answer is 18.00", "18.00"},                    // compared as written: not "18"
      {"The answer is 7\n", "7"},
      {"The answer is $18.", ""},                          // the published regex has no "$"
      {"The answer is probably 5.", ""},                   // hedging before the number
      {"The answer is\n18", ""},                           // the number must follow on the line
      {"The answer is 5. Then the answer is six.", ""},    // the last cue decides
      {"The answer is 5.\nQ: next\nThe answer is 7.", "7"},
      {"She has 3 apples and 4 pears, so 7 fruit.", ""},   // no cue: no last-number guess
      {"18", "18"},                                        // answer-only prompting
      {" 1,000\n", "1000"},
      {"18 apples", ""},                                   // answer-only, but not a number as it is
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(extract_gsm8k_strict(c.output), c.want) << "output: " << c.output;
  EXPECT_EQ(gsm8k_gold(" 1,000 "), "1000");
  // Lenient reads what strict refuses.
  EXPECT_EQ(extract_number("The answer is $18."), "18");
  EXPECT_EQ(extract_number("She has 3 apples and 4 pears, so 7 fruit."), "7");
  EXPECT_EQ(normalize_number("18.00"), "18");
}

TEST(Protocol, ExtractionNames) {
  EXPECT_EQ(parse_extraction("strict"), Extraction::strict);
  EXPECT_EQ(parse_extraction("lenient"), Extraction::lenient);
  EXPECT_STREQ(extraction_name(Extraction::lenient), "lenient");
  EXPECT_THROW(parse_extraction("loose"), Error);
}

TEST(Protocol, BbhWholeSetsCountedAndEveryTargetCorrectUnderTheStrictRule) {
  SKIP_WITHOUT_DATA("bbh");
  auto subtasks = bbh_subtasks();
  ASSERT_EQ(subtasks.size(), 27u);
  int64_t total = 0;
  for (const auto& sub : subtasks) {
    auto t = make_task("bbh:" + sub);
    EXPECT_TRUE(t->fixed_test_items());
    EXPECT_EQ(t->extractor_id(), "bbh-exact@1");
    const int64_t n = t->pool_size("test", Pool::test);
    total += n;
    for (int64_t i = 0; i < n; ++i) {
      const auto e = t->example("test", Pool::test, 1, i);
      ASSERT_TRUE(t->is_correct(t->extract_answer("Let's think step by step. So the answer is " + e.answer + "."), e.answer))
          << sub << " item " << i << ": " << e.answer;
      ASSERT_TRUE(t->is_correct(t->extract_answer(e.answer), e.answer)) << sub << " answer-only, item " << i;
      ASSERT_FALSE(t->is_correct(t->extract_answer("So the answer is " + e.answer + " or " + e.answer + "."), e.answer))
          << sub << ": naming two options is wrong";
    }
  }
  EXPECT_EQ(total, 6511);
  // Items in file order with their duplicates (causal_judgement repeats 2 of its inputs).
  EXPECT_EQ(make_task("bbh:causal_judgement")->pool_size("test", Pool::test), 187);
  EXPECT_EQ(make_task("bbh:sports_understanding")->pool_size("test", Pool::test), 250);

  // Lenient extraction accepts what the benchmark does not.
  auto mc = make_task("bbh:date_understanding");
  EXPECT_FALSE(mc->is_correct(mc->extract_answer("So the answer is (A) or (B)."), "(A)"));
  EXPECT_TRUE(mc->is_correct(mc->extract_answer("So the answer is (A) or (B).", Extraction::lenient), "(A)",
                             Extraction::lenient));
  EXPECT_FALSE(mc->is_correct(mc->extract_answer("Hmm. (A) is likely."), "(A)"));
  EXPECT_TRUE(mc->is_correct(mc->extract_answer("Hmm. (A) is likely.", Extraction::lenient), "(A)", Extraction::lenient));
  EXPECT_FALSE(mc->is_correct(mc->extract_answer("So the answer is A."), "(A)"));
  auto yn = make_task("bbh:causal_judgement");
  EXPECT_FALSE(yn->is_correct(yn->extract_answer("So the answer is yes."), "Yes"));
  EXPECT_TRUE(yn->is_correct(yn->extract_answer("So the answer is Yes."), "Yes"));
  EXPECT_NE(mc->extractor_id(Extraction::strict), mc->extractor_id(Extraction::lenient));
}

TEST(Protocol, Gsm8kWholeSetCountedAndEveryGoldCorrectUnderTheStrictRule) {
  SKIP_WITHOUT_DATA("gsm8k");
  auto t = make_task("gsm8k");
  EXPECT_TRUE(t->fixed_test_items());
  EXPECT_EQ(t->extractor_id(), "gsm8k-strict@1");
  ASSERT_EQ(t->pool_size("test", Pool::test), 1319);
  for (int64_t i = 0; i < 1319; ++i) {
    const auto e = t->example("test", Pool::test, 1, i);
    ASSERT_TRUE(t->is_correct(t->extract_answer(e.attrs.at("gold_text")), e.answer)) << i;           // "... #### N"
    ASSERT_TRUE(t->is_correct(t->extract_answer(render_target(e, Format::cot)), e.answer)) << i;     // "The answer is N."
    ASSERT_TRUE(t->is_correct(t->extract_answer(" " + e.answer + "\n"), e.answer)) << i;            // answer-only
    ASSERT_FALSE(t->is_correct(t->extract_answer("The answer is $" + e.answer + "."), e.answer)) << i;
    ASSERT_TRUE(t->is_correct(t->extract_answer("The answer is $" + e.answer + ".", Extraction::lenient), e.answer,
                              Extraction::lenient))
        << i;
  }
}

}  // namespace elab
