#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/names.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/threads.h"
#include "test_util.h"

namespace elab {

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
}

TEST(Rng, UniformIntStaysInRangeAndCoversIt) {
  Rng r(7);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    int64_t v = r.uniform_int(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(Rng, DerivedSeedsDependOnPurposeAndIds) {
  EXPECT_EQ(derive_seed(1, "data", {3, 4}), derive_seed(1, "data", {3, 4}));
  EXPECT_NE(derive_seed(1, "data", {3, 4}), derive_seed(1, "data", {4, 3}));
  EXPECT_NE(derive_seed(1, "data"), derive_seed(1, "init"));
  EXPECT_NE(derive_seed(1, "data"), derive_seed(2, "data"));
}

TEST(Names, UnknownNameListsValidOnesAndSuggests) {
  try {
    fail_unknown("preset", "xll", {"xs", "s", "xl", "xxl"});
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("unknown preset 'xll'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean"), std::string::npos) << msg;
    EXPECT_NE(msg.find("xs, s, xl, xxl"), std::string::npos) << msg;
  }
}

TEST(Hash, StableAndSensitive) {
  EXPECT_EQ(hash_hex("abc"), hash_hex("abc"));
  EXPECT_NE(hash_hex("abc"), hash_hex("abd"));
  EXPECT_EQ(hash_hex("").size(), 16u);
}

// The fan-out keeps its threads: fifty calls of three parts start two threads in all, the
// later calls' parts run on the first call's threads, a part that fans out again gets
// threads of its own (no wait on itself), and a failing part's error reaches the caller.
TEST(Threads, FanOutsReuseTheirThreadsNestWithoutWaitingAndRethrow) {
  const size_t started_before = fan_out_threads_started();
  std::mutex mutex;
  std::set<std::thread::id> first_ids, later_ids;
  for (int call = 0; call < 50; ++call) {
    std::latch all_running(3);  // the three parts run at once, so on three threads
    run_parts(3, [&](size_t i) {
      all_running.arrive_and_wait();
      if (i == 0) return;
      std::lock_guard lock(mutex);
      (call == 0 ? first_ids : later_ids).insert(std::this_thread::get_id());
    });
  }
  EXPECT_EQ(first_ids.size(), 2u);
  EXPECT_LE(fan_out_threads_started() - started_before, 2u);
  for (auto id : later_ids) EXPECT_TRUE(first_ids.count(id)) << "a later call started a thread of its own";

  std::atomic<int> inner{0};
  run_parts(2, [&](size_t) { run_parts(3, [&](size_t) { ++inner; }); });
  EXPECT_EQ(inner, 6);

  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_for(100, 2, [&](size_t i) {
                 ++ran;
                 std::this_thread::sleep_for(std::chrono::milliseconds(1));
                 check(i != 7, "part {} failed", i);
               }),
               Error);
  EXPECT_LT(ran, 100);
}

// SHA-256 against the FIPS 180-2 test vectors, and over files as over their concatenation.
TEST(Hash, Sha256MatchesTheStandardsVectorsAndHashesFilesInOrder) {
  EXPECT_EQ(Sha256().add("abc").hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256().hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256().add("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  testing::TempDir dir;
  write_file_atomic(dir / "a", "ab");
  write_file_atomic(dir / "b", "c");
  EXPECT_EQ(sha256_of_files({dir / "a", dir / "b"}), Sha256().add("abc").hex());
  EXPECT_NE(testing::error_of([&] { sha256_of_files({dir / "missing"}); }).find("missing"), std::string::npos);
}

TEST(Fs, AtomicWriteReplacesContentAndLeavesNoTemporaries) {
  testing::TempDir dir;
  write_file_atomic(dir / "a.txt", "first");
  write_file_atomic(dir / "a.txt", "second");
  EXPECT_EQ(read_file(dir / "a.txt"), "second");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir.path)) files += 1, (void)e;
  EXPECT_EQ(files, 1);
}

TEST(Fs, ReadMissingFileNamesIt) {
  testing::TempDir dir;
  try {
    read_file(dir / "nope.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos);
  }
}

TEST(Fs, ReplaceDirSwapsWholeDirectory) {
  testing::TempDir dir;
  fs::path target = dir / "ckpt";
  fs::create_directories(target);
  write_file_atomic(target / "old.txt", "old");
  fs::path staged = staging_dir_for(target);
  write_file_atomic(staged / "new.txt", "new");
  replace_dir_atomic(staged, target);
  EXPECT_TRUE(fs::exists(target / "new.txt"));
  EXPECT_FALSE(fs::exists(target / "old.txt"));
  EXPECT_FALSE(fs::exists(staged));
}

}  // namespace elab
