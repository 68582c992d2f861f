#include "core/version.h"

namespace elab {

// ELAB_VERSION is set for this file alone (src/core/CMakeLists.txt), so a version bump
// recompiles one file.
const char* elab_version() { return ELAB_VERSION; }

}  // namespace elab
