#pragma once
// The version of elab, from CMake's project(VERSION ...): one number for --version and
// the records elab writes.
namespace elab {

const char* elab_version();

}  // namespace elab
