#pragma once
// SHA-256 (OpenSSL's), for integrity: the content hash of model files that adapters and
// shipped bases record, which anyone can check with `sha256sum`. (core/hash.h's FNV-1a
// stays what it is for: cheap, stable keys and splits, not integrity.)
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace elab {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& add(std::string_view bytes);
  // The digest as 64 lower-case hex digits; the hasher is spent afterwards.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

// What identifies a file's content without reading it, for caches of hashes and loaded
// models within a process: absolute path, inode, size, modification and change times (in
// nanoseconds). A file replaced by an atomic write gets a new inode, so it is seen as
// changed even within one tick of the file system's clock.
std::string file_identity(const std::filesystem::path& file);

// The files' bytes one after another, 1 MiB at a time, to `chunk`; a file that cannot be
// read is an Error naming it.
void read_files_in_chunks(const std::vector<std::filesystem::path>& files,
                          const std::function<void(std::string_view)>& chunk);

// SHA-256 of the files' bytes one after another (`cat FILES | sha256sum`). A file that
// cannot be read is an Error naming it.
std::string sha256_of_files(const std::vector<std::filesystem::path>& files);

}  // namespace elab
