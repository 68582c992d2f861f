#pragma once
// Real-data tests read ../shared/data (or $ELAB_DATA): present in this workplace and in CI,
// so they skip, with a message, only outside it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/fs.h"
#include "tasks/file_task.h"

// In CI (CI set, as .ci/run's caller sets it) the data is always beside the clone, so a
// missing folder there is a failure, never a silent skip.
#define SKIP_WITHOUT_DATA(dir)                                                                      \
  if (elab::data_root().empty() || !elab::fs::exists(elab::fs::path(elab::data_root()) / dir)) {   \
    if (std::getenv("CI") != nullptr)                                                              \
      FAIL() << "data folder " << dir << " not found in CI (expected ../shared/data beside the clone)"; \
    GTEST_SKIP() << "data folder " << dir << " not found (set ELAB_DATA); skipping real-data test";  \
  }
