#pragma once
// Real-data tests read ../shared/data (or $ELAB_DATA): present in this workplace and in CI,
// so they skip, with a message, only outside it.
#include <gtest/gtest.h>

#include "core/fs.h"
#include "tasks/file_task.h"

#define SKIP_WITHOUT_DATA(dir)                                                                     \
  if (elab::data_root().empty() || !elab::fs::exists(elab::fs::path(elab::data_root()) / dir))     \
  GTEST_SKIP() << "data folder " << dir << " not found (set ELAB_DATA); skipping real-data test"
