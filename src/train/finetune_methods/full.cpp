// full: every weight of the base is trained; the result is a whole checkpoint.
#include "train/finetune.h"

namespace elab {

FinetuneMethod full_finetune_method() {
  FinetuneMethod m;
  m.name = "full";
  m.description = "every weight of the base";
  // From a sweep of 3e-4, 1e-3, 3e-3 (docs/FINETUNING.md, "Learning rates").
  m.default_lr = 3e-5;  // the lowest 4-fold held-out loss of bench/finetune-lr.sh (docs/FINETUNING.md)
  return m;
}

}  // namespace elab
