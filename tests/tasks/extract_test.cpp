#include <gtest/gtest.h>

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

}  // namespace elab
