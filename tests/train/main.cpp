// train_test's main: the test binary, or (ELAB_TEST_DIST_OUT set) one rank of the
// data-parallel worker processes that Distributed.TwoRanksEqualOneProcess starts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <iostream>

namespace elab {
int distributed_test_worker(const char* out);
}

int main(int argc, char** argv) {
  if (const char* out = std::getenv("ELAB_TEST_DIST_OUT")) {
    try {
      return elab::distributed_test_worker(out);
    } catch (const std::exception& e) {
      std::cerr << "distributed worker: " << e.what() << "\n";
      return 1;
    }
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
