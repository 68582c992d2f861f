#pragma once
// A study: one TOML file (docs/STUDY_FORMAT.md) naming the base models to pre-train, the
// prompting evaluations, and the fine-tuning runs with their evaluations. Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace elab {

struct EvalBlock {
  std::vector<std::string> tasks, splits, methods;
  int64_t n = 0;  // 0: the task's default (a file's whole test set, else 200); -1: "all"
  std::vector<std::string> retention_tasks;  // fine-tuning blocks only
};

struct FinetuneBlock {
  std::vector<std::string> tasks, methods;  // methods: full, lora, prefix
  std::vector<int64_t> n_train;
  EvalBlock evaluate;
};

struct StudySpec {
  std::string name;
  std::string path;                 // the TOML file
  std::string dir;                  // models and the default database: studies/<name>
  uint64_t seed = 1;                // evaluation items, exemplars, fine-tuning examples
  std::vector<uint64_t> seeds = {1};  // pre-training seeds per base model
  std::vector<std::string> presets, recipes;
  int64_t tokens = 1000000;
  int64_t batch = 32, seq_len = 128;
  double lr = 0;                    // 0: the preset's
  std::string loss = "all";
  std::string precision = "fp32";   // fp32 or bf16 matrix products (pre-training and fine-tuning)
  std::vector<EvalBlock> evaluate;
  std::vector<FinetuneBlock> finetune;
};

// Errors name the file, the line and the key.
StudySpec parse_study(const std::string& text, const std::string& path);
StudySpec load_study(const std::string& path);

}  // namespace elab
