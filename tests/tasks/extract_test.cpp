#include <gtest/gtest.h>

#include "core/error.h"
#include "tasks/extract.h"

namespace elab {

TEST(Extract, NumbersAndTheirTraps) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {" 46", "46"},
      {"46\n", "46"},
      {"The answer is 72\n", "72"},
      {"So the answer is 873.", "873"},
      {"so the answer is 12", "12"},
      {"#### 18", "18"},
      {"step 1: 3 + 4 = 7\nSo the answer is 7.", "7"},
      {"$29.00.", "29"},
      {"1,000", "1000"},
      {"1000", "1000"},
      {"-5", "-5"},
      {"+5", "5"},
      {"-0", "0"},
      {"2.50", "2.5"},
      {"007", "7"},
      {"The answer is 5. Then 6 more", "5"},
      {"3 apples and 4 pears, 7 fruit", "7"},
      {"no number here", ""},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(extract_number(c.text), c.want) << "text: " << c.text;
}

TEST(Extract, ChoicesBooleansTextAndSequences) {
  EXPECT_EQ(extract_choice("Let's think. Option (A) is wrong. So the answer is (B)."), "(B)");
  EXPECT_EQ(extract_choice("(A) looks right, but (C) is"), "(C)");
  EXPECT_EQ(extract_choice("The answer is C."), "(C)");
  EXPECT_EQ(extract_choice("no option named"), "");
  EXPECT_EQ(extract_boolean("So the answer is Yes."), "yes");
  EXPECT_EQ(extract_boolean("It is not valid, so the answer is invalid"), "invalid");
  EXPECT_EQ(extract_boolean(" True"), "true");
  EXPECT_EQ(extract_boolean("maybe"), "");
  EXPECT_EQ(extract_text(" nk\n"), "nk");
  EXPECT_EQ(extract_text("The last letter...\nSo the answer is  an ."), "an");
  EXPECT_EQ(extract_text("So the answer is ] ) }."), "] ) }");
  EXPECT_EQ(extract_text("   "), "");
  EXPECT_EQ(extract_sequence(" 3 5 8"), "3 5 8");
  EXPECT_EQ(extract_sequence("So the answer is [3, 5, 8]."), "3 5 8");
  EXPECT_EQ(normalize_answer(AnswerKind::boolean, "Yes"), "yes");
  EXPECT_EQ(normalize_answer(AnswerKind::choice, "(D)"), "(D)");
}

TEST(Extract, Normalise) {
  EXPECT_EQ(normalize_number("1,000"), normalize_number("1000"));
  EXPECT_EQ(normalize_number("29.00"), "29");
  EXPECT_EQ(normalize_number("$3"), "3");
  EXPECT_EQ(normalize_number("abc"), "");
  EXPECT_EQ(normalize_number("1.2.3"), "");
}

// lm-evaluation-harness's flexible-extract: the last number (or option) anywhere, whatever cue.
TEST(Extract, FlexibleTakesTheLastNumberOrOption) {
  EXPECT_EQ(extract_flexible(AnswerKind::number, "She has 3 + 4 = 7 apples.\nA: 26"), "26");
  EXPECT_EQ(extract_flexible(AnswerKind::number, "The answer is 5. Check: 1,000"), "1000");
  EXPECT_EQ(extract_flexible(AnswerKind::number, "no digits"), "");
  EXPECT_EQ(extract_flexible(AnswerKind::choice, "(A) looks wrong, so (C)"), "(C)");
  EXPECT_EQ(extract_gsm8k_strict("A: 26"), "");  // the strict rule does not know the cue
  EXPECT_EQ(parse_extraction("flexible"), Extraction::flexible);
  try {
    parse_extraction("loose");
    FAIL() << "an unknown rule was accepted";
  } catch (const elab::Error& e) {
    EXPECT_NE(std::string(e.what()).find("flexible"), std::string::npos) << e.what();
  }
}

}  // namespace elab
