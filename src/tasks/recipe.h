#pragma once
// A recipe is a pre-training data mixture: which tasks, in which formats, with which
// weights, and how examples are packed into sequences.
//   bursty: each sequence holds examples of one task in one format, back to back (the
//           data property that teaches in-context learning);
//   single: each example is its own document (BOS ... EOS), tasks mixed freely.
// Training data comes only from each task's training pool of its "id" split.
#include <memory>
#include <string>
#include <vector>

#include "tasks/format.h"
#include "tasks/task.h"
#include "text/tokenizer.h"
#include "train/data.h"

namespace elab {

struct RecipeEntry {
  std::string task;  // task spec, e.g. "add" or "add:digits=2"
  Format format = Format::direct;
  double weight = 1.0;
};

struct Recipe {
  std::string name;
  std::string description;
  std::vector<RecipeEntry> entries;
  bool bursty = true;
  bool answer_only_loss = false;  // count only target tokens (after "A:") in the loss
  std::string describe() const;   // canonical text: everything that determines the data
};

const std::vector<Recipe>& builtin_recipes();
// A built-in recipe by name, an ad-hoc one-task recipe "task:TASKSPEC[@format]", or a
// TOML file (docs/TASKS.md, "Recipes"). Unknown names: an Error listing the valid ones.
Recipe find_recipe(const std::string& name);
Recipe parse_recipe_toml(const std::string& text, const std::string& where);

// Tasks every built-in recipe holds out: the new downstream tasks.
const std::vector<std::string>& held_out_tasks();

// The token stream of a recipe. Batch i, row r is drawn from derive_seed(seed, i, r)
// alone: any batch can be produced without producing the ones before it.
class RecipeStream : public TokenStream {
 public:
  RecipeStream(Recipe recipe, uint64_t seed, Pool pool);
  void read_rows(int64_t index, int64_t batch_rows, int64_t first, int64_t count, int64_t seq_len,
                 TokenBatch& out) const override;
  std::string describe() const override;

 private:
  void fill_row(uint64_t row_seed, int64_t seq_len, int32_t* tokens, uint8_t* mask) const;
  Recipe recipe_;
  uint64_t seed_;
  Pool pool_;
  std::vector<std::unique_ptr<Task>> tasks_;
  ByteTokenizer tokenizer_;
};

}  // namespace elab
