// File tasks: GSM8K and BIG-Bench-Hard from ../shared/data (skipped with a message when
// the folder is absent), and generic JSONL files with their error messages.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fs.h"
#include "tasks/file_task.h"
#include "tasks/format.h"
#include "tasks/registry.h"
#include "data_util.h"
#include "test_util.h"

namespace elab {

TEST(Gsm8k, EveryGoldAnswerTextScoresCorrect) {
  SKIP_WITHOUT_DATA("gsm8k");
  auto t = make_task("gsm8k");
  ASSERT_EQ(t->pool_size("test", Pool::test), 1319);
  EXPECT_EQ(t->pool_size("test", Pool::exemplar), 7473);
  for (int64_t i = 0; i < 1319; ++i) {
    auto e = t->example("test", Pool::test, 1, i);
    ASSERT_TRUE(t->is_correct(t->extract_answer(e.attrs.at("gold_text")), e.answer)) << i << ": " << e.attrs.at("gold_text");
    ASSERT_TRUE(t->is_correct(t->extract_answer(render_target(e, Format::cot)), e.answer)) << i;
  }
  // Test items are in file order whatever the seed; exemplars depend on it.
  EXPECT_EQ(t->example("test", Pool::test, 1, 0).question, t->example("test", Pool::test, 2, 0).question);
  EXPECT_NE(t->example("test", Pool::exemplar, 1, 0).question, t->example("test", Pool::exemplar, 2, 0).question);
  EXPECT_NE(t->example("test", Pool::test, 1, 0).question.find("Janet"), std::string::npos);
}

TEST(Bbh, AllSubtasksLoadAndEveryTargetScoresCorrect) {
  SKIP_WITHOUT_DATA("bbh");
  auto subtasks = bbh_subtasks();
  ASSERT_EQ(subtasks.size(), 27u);
  for (const auto& sub : subtasks) {
    auto t = make_task("bbh:" + sub);
    int64_t n = t->pool_size("test", Pool::test);
    EXPECT_GT(n, 0) << sub;
    EXPECT_EQ(t->pool_size("test", Pool::exemplar), 3) << sub;
    for (int64_t i = 0; i < n; ++i) {
      auto e = t->example("test", Pool::test, 1, i);
      std::string out = "Let's think step by step. So the answer is " + e.answer + ".";
      ASSERT_TRUE(t->is_correct(t->extract_answer(out), e.answer)) << sub << " item " << i << ": " << e.answer;
    }
    for (int64_t i = 0; i < 3; ++i) {
      auto x = t->example("test", Pool::exemplar, 1, i);
      EXPECT_FALSE(x.rationale.empty()) << sub;
      EXPECT_TRUE(t->is_correct(t->extract_answer(render_target(x, Format::cot)), x.answer)) << sub;
    }
  }
  EXPECT_THROW(make_task("bbh:no_such_subtask"), Error);
}

using testing::error_of;

TEST(Jsonl, LoadsSplitsAndInfersTheAnswerKind) {
  testing::TempDir dir;
  auto path = (dir / "t.jsonl").string();
  write_file_atomic(path,
                    "{\"question\": \"2+2?\", \"answer\": \"4\", \"rationale\": \"2+2=4\"}\n"
                    "\n"
                    "{\"question\": \"3+3?\", \"answer\": \"6\", \"split\": \"hard\"}\n"
                    "{\"question\": \"1+1?\", \"answer\": \"2\", \"split\": \"train\"}\n");
  auto t = make_task("jsonl:" + path);
  EXPECT_EQ(t->split_names(), (std::vector<std::string>{"test", "hard"}));
  EXPECT_EQ(t->answer_kind(), AnswerKind::number);
  EXPECT_EQ(t->pool_size("test", Pool::test), 1);
  EXPECT_EQ(t->pool_size("test", Pool::exemplar), 1);
  EXPECT_EQ(t->example("test", Pool::test, 1, 0).rationale, "2+2=4\n");
  EXPECT_THROW(t->example("test", Pool::test, 1, 1), Error);  // only one item
  EXPECT_THROW(t->check_split("train"), Error);
}

TEST(Jsonl, MalformedLinesNameFileAndLineAndCanBeSkipped) {
  testing::TempDir dir;
  auto path = (dir / "bad.jsonl").string();
  write_file_atomic(path,
                    "{\"question\": \"a\", \"answer\": \"yes\"}\n"
                    "{\"question\": \"b\", \"answer\": \n"
                    "{\"question\": \"c\"}\n"
                    "{\"question\": \"d\", \"answer\": \"no\", \"split\": 3}\n"
                    "{\"question\": \"e\", \"answer\": \"no\"}\n");
  std::string msg = error_of([&] { make_task("jsonl:" + path); });
  EXPECT_NE(msg.find("bad.jsonl:2: not a JSON object"), std::string::npos) << msg;
  set_skip_bad_lines(true);
  auto t = make_task("jsonl:" + path);
  set_skip_bad_lines(false);
  EXPECT_EQ(t->pool_size("test", Pool::test), 2);
  EXPECT_EQ(t->answer_kind(), AnswerKind::boolean);

  write_file_atomic(path, "{\"question\": \"c\"}\n");
  msg = error_of([&] { make_task("jsonl:" + path); });
  EXPECT_NE(msg.find("bad.jsonl:1: missing string field 'answer'"), std::string::npos) << msg;
  msg = error_of([&] { make_task("jsonl:" + (dir / "missing.jsonl").string()); });
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
}

TEST(FileTasks, MissingDataSaysWhereItLooked) {
  testing::TempDir dir;
  setenv("ELAB_DATA", dir.path.c_str(), 1);
  std::string msg = error_of([] { make_task("gsm8k"); });
  unsetenv("ELAB_DATA");
  EXPECT_NE(msg.find("gsm8k/test.jsonl does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ELAB_DATA"), std::string::npos) << msg;
}

}  // namespace elab
