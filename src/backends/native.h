#pragma once
// The native backend: a checkpoint trained here, decoded by the generation engine.
#include "eval/backend.h"
#include "model/checkpoint.h"

namespace elab {

class NativeBackend : public Backend {
 public:
  explicit NativeBackend(Checkpoint checkpoint) : ck_(std::move(checkpoint)) {}
  std::string name() const override { return ck_.dir.string(); }
  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) override;
  bool score(const std::vector<std::string>& prompts, const std::vector<std::string>& continuations,
             std::vector<double>& logprobs) override;
  int score_batch = 32;
  int workers = 1;  // threads sharing each decode and scoring batch (GenerateOptions::workers)
  std::optional<ChatTemplate> chat_template() const override;
  Checkpoint& checkpoint() { return ck_; }

 private:
  Checkpoint ck_;
  bool warned_ = false;
};

}  // namespace elab
