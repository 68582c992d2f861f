// iclass (Chan et al. 2022; Reddy 2023): each split poses the problem it claims to.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tasks/registry.h"

namespace elab {
namespace {

std::vector<int> ints(const std::string& csv) {
  std::vector<int> out;
  std::stringstream ss(csv);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(std::stoi(x));
  return out;
}

// The labels shown in the question, in order ("kcap=B modf=E kcap=?" -> B, E).
std::vector<char> shown_labels(const std::string& q) {
  std::vector<char> out;
  for (size_t at = q.find('='); at != std::string::npos; at = q.find('=', at + 1))
    if (q[at + 1] != '?') out.push_back(q[at + 1]);
  return out;
}

TEST(Iclass, EachSplitPosesItsProblem) {
  auto task = make_task("iclass:classes=64,novel=16,labels=8,context=8,burst=4,bursty=1,templates=0");
  for (int64_t i = 0; i < 200; ++i) {
    // Training distribution, all bursty: the query's class is in context `burst` times,
    // always with its trained label.
    Example id = task->example("id", Pool::train, 1, i);
    const auto classes = ints(id.attrs.at("context_classes"));
    const int q = std::stoi(id.attrs.at("query_class"));
    EXPECT_EQ(std::count(classes.begin(), classes.end(), q), 4) << id.question;
    EXPECT_EQ(id.answer, id.attrs.at("query_trained_label"));
    EXPECT_LT(q, 64);

    // Novel: two held-out classes, two distinct labels, the answer the query class's
    // label in this context.
    Example nov = task->example("ood-novel", Pool::test, 1, i);
    const auto nc = ints(nov.attrs.at("context_classes"));
    EXPECT_GE(std::stoi(nov.attrs.at("query_class")), 64);
    EXPECT_EQ(std::set<int>(nc.begin(), nc.end()).size(), 2u);
    const auto nl = shown_labels(nov.question);
    EXPECT_EQ(std::set<char>(nl.begin(), nl.end()).size(), 2u) << nov.question;
    for (size_t k = 0; k < nc.size(); ++k)
      if (nc[k] == std::stoi(nov.attrs.at("query_class"))) EXPECT_EQ(std::string(1, nl[k]), nov.answer) << nov.question;

    // Weights: the query's class never in context; the answer its trained label.
    Example w = task->example("ood-weights", Pool::test, 1, i);
    const auto wc = ints(w.attrs.at("context_classes"));
    EXPECT_EQ(std::count(wc.begin(), wc.end(), std::stoi(w.attrs.at("query_class"))), 0) << w.question;
    EXPECT_EQ(w.answer, w.attrs.at("query_trained_label"));

    // Swapped: trained classes shown with each other's labels; the answer is the shown
    // label, never the trained one.
    Example sw = task->example("ood-swapped", Pool::test, 1, i);
    EXPECT_NE(sw.answer, sw.attrs.at("query_trained_label")) << sw.question;
  }
  // The same arguments, the same example.
  EXPECT_EQ(task->example("ood-novel", Pool::test, 7, 3).question, task->example("ood-novel", Pool::test, 7, 3).question);
}

TEST(Iclass, BurstinessAndZipfShapeTheTrainingDistribution) {
  // Without burstiness the query's class is in context only by chance.
  auto iid = make_task("iclass:classes=256,bursty=0");
  int with_query = 0;
  for (int64_t i = 0; i < 400; ++i) {
    Example e = iid->example("id", Pool::train, 1, i);
    const auto c = ints(e.attrs.at("context_classes"));
    with_query += std::count(c.begin(), c.end(), std::stoi(e.attrs.at("query_class"))) > 0;
  }
  EXPECT_LT(with_query, 40);  // 8 draws of 256 classes: ~3%
  // Zipf exponent 1: class 0 is drawn far more often than class 100.
  auto zipf = make_task("iclass:classes=256,zipf=1");
  std::map<int, int> count;
  for (int64_t i = 0; i < 2000; ++i) count[std::stoi(zipf->example("id", Pool::train, 1, i).attrs.at("query_class"))]++;
  EXPECT_GT(count[0], 10 * std::max(1, count[100]));
  EXPECT_THROW(make_task("iclass:context=6,burst=4"), Error);
}

// The random-label probe is the id problem of the same index, item for item, with only
// the labels in its context redrawn: its answer is still the trained label.
TEST(Iclass, TheRandomLabelProbeRelabelsTheIdProblemsContext) {
  auto task = make_task("iclass:classes=64,novel=16,labels=8,context=8,burst=4,bursty=1,templates=0");
  int changed = 0, shown = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const Example id = task->example("id", Pool::test, 3, i), probe = task->example("id-random-labels", Pool::test, 3, i);
    EXPECT_EQ(probe.answer, id.answer);
    ASSERT_EQ(probe.question.size(), id.question.size());
    for (size_t k = 0; k < id.question.size(); ++k) {
      const bool label = id.question[k] >= 'A' && id.question[k] <= 'Z';
      if (!label) EXPECT_EQ(probe.question[k], id.question[k]) << "only labels change";
      else ++shown, changed += probe.question[k] != id.question[k];
    }
    EXPECT_NE(probe.key, id.key);
    EXPECT_EQ(task->example("id-random-labels", Pool::test, 3, i).question, probe.question) << "deterministic";
  }
  // Uniform labels over 8: about 7 in 8 of the shown labels differ.
  EXPECT_NEAR(double(changed) / shown, 7.0 / 8, 0.05);
}

// parity (Wies et al. 2023): the answer is the parity of the bits, and the chain's steps
// restate each bit beside the parity so far, ending at the answer.
TEST(Parity, AnswersAndChainsAreTheParityOfTheBits) {
  auto task = make_task("parity:templates=0");
  for (const std::string split : {"id", "ood-length"})
    for (int64_t i = 0; i < 200; ++i) {
      const Example e = task->example(split, Pool::test, 1, i);
      const int n = std::stoi(e.attrs.at("bits"));
      if (split == "id") EXPECT_TRUE(n >= 6 && n <= 10) << n;
      else EXPECT_TRUE(n >= 11 && n <= 14) << n;
      int p = 0;
      std::string expected;
      for (int k = 0; k < n; ++k) {
        const char bit = e.question[size_t(3 * k + 1)];
        EXPECT_EQ(e.question[size_t(3 * k)], char('a' + k));
        p ^= bit - '0';
        expected += fmt::format("{}{}{}>{}", k ? " " : "", char('a' + k), bit, p);
      }
      EXPECT_EQ(e.answer, std::to_string(p)) << e.question;
      EXPECT_EQ(e.rationale, expected + "\n");
    }
  EXPECT_THROW(make_task("parity:bits=40"), Error);
}

}  // namespace
}  // namespace elab
