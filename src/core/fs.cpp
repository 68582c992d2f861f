#include "core/fs.h"

#include <cstdio>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"

namespace elab {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}: {}", path.string(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("error reading {}", path.string());
  return ss.str();
}

static std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}", rd());
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
    // A device or pipe (/dev/stdout, a FIFO): renaming over it would replace it.
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    check(bool(out), "cannot write {}", path.string());
    return;
  }
  fs::path tmp = path;
  tmp += ".tmp-" + random_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("cannot write {}: {}", path.string(), std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("cannot write {}: {}", path.string(), std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail("cannot flush {}: {}", path.string(), std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename into {}: {}", path.string(), std::strerror(e));
  }
}

fs::path staging_dir_for(const fs::path& target) {
  fs::path abs = fs::absolute(target).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();
  fs::path staged = abs.parent_path() / ("." + abs.filename().string() + ".staging-" + random_suffix());
  fs::create_directories(staged);
  return staged;
}

void replace_dir_atomic(const fs::path& staged, const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(target)) {
    fs::rename(staged, target, ec);
    if (ec) fail("cannot move {} to {}: {}", staged.string(), target.string(), ec.message());
    return;
  }
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(staged, ec);  // now holds the old contents
    return;
  }
  // Filesystems without RENAME_EXCHANGE: two renames, with a short window in which only
  // the ".old" directory exists.
  fs::path old = staged;
  old += ".old";
  fs::rename(target, old, ec);
  if (ec) fail("cannot move {} aside: {}", target.string(), ec.message());
  fs::rename(staged, target, ec);
  if (ec) fail("cannot move {} to {}: {}", staged.string(), target.string(), ec.message());
  fs::remove_all(old, ec);
}

void write_output(const std::string& path, std::string_view text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  write_file_atomic(path, text);
}

std::vector<TextLine> read_lines(const std::string& path) {
  std::ifstream in(path);
  check(bool(in), "cannot open {}", path);
  std::vector<TextLine> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    out.push_back({number, line});
  }
  return out;
}

}  // namespace elab
