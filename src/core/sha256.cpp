#include "core/sha256.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>

#include "core/error.h"

namespace elab {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
  ~Context() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  ctx_->md = EVP_MD_CTX_new();
  check(ctx_->md != nullptr && EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1,
        "SHA-256: OpenSSL could not start a digest");
}

Sha256::~Sha256() = default;

Sha256& Sha256::add(std::string_view bytes) {
  check(EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) == 1, "SHA-256: OpenSSL could not hash {} bytes",
        bytes.size());
  return *this;
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  check(EVP_DigestFinal_ex(ctx_->md, digest, &n) == 1, "SHA-256: OpenSSL could not finish the digest");
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::string file_identity(const std::filesystem::path& file) {
  struct stat st {};
  check(::stat(file.c_str(), &st) == 0, "{}: cannot read it", file.string());
  return fmt::format("{}|{}|{}|{}.{}|{}.{}", std::filesystem::absolute(file).lexically_normal().string(), st.st_ino,
                     st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

void read_files_in_chunks(const std::vector<std::filesystem::path>& files,
                          const std::function<void(std::string_view)>& chunk) {
  std::vector<char> buffer(1 << 20);
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    check(bool(in), "{}: cannot read it to hash it", file.string());
    while (in) {
      in.read(buffer.data(), std::streamsize(buffer.size()));
      chunk(std::string_view(buffer.data(), size_t(in.gcount())));
    }
    check(in.eof(), "{}: read failed while hashing it", file.string());
  }
}

std::string sha256_of_files(const std::vector<std::filesystem::path>& files) {
  Sha256 h;
  read_files_in_chunks(files, [&](std::string_view bytes) { h.add(bytes); });
  return h.hex();
}

}  // namespace elab
