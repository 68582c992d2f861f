#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/names.h"
#include "core/rng.h"
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
