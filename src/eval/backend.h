#pragma once
// What answers prompts: the native engine, an OpenAI-compatible server, recorded
// predictions. The evaluator sees only this interface. Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace elab {

struct GenerateOptions {
  int max_new_tokens = 64;
  std::vector<std::string> stop;  // generation ends at the first of these (not included)
  int batch_size = 64;            // prompts decoded together
};

struct Completion {
  std::string text;        // generated text, stop sequence excluded
  int64_t tokens = 0;      // tokens generated
  bool hit_limit = false;  // ended by max_new_tokens rather than a stop or EOS
};

struct Backend {
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // for reports: a path, a URL#model, a file
  virtual std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) = 0;
};

}  // namespace elab
