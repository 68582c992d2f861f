#!/usr/bin/env bash
# How the fine-tuning methods' default learning rates are chosen: for each method and
# learning rate, k-fold cross-validation within the N training examples (the protocol of
# docs/FINETUNING.md) gives the mean held-out loss at the best step; the rate with the
# lowest loss wins. Only the N examples are looked at: no test item, no other example.
# Slow (minutes): a benchmark, not a test.
#   bench/finetune-lr.sh BASE_DIR [TASK] [N] [SEED]
set -euo pipefail
ELAB=${ELAB:-build/elab}
base=${1:?usage: finetune-lr.sh BASE_DIR [TASK] [N] [SEED]}
task=${2:-lastletter}
n=${3:-64}
seed=${4:-1}
out=${OUT:-$(mktemp -d)}
echo "base $base, task $task, N=$n, seed $seed: mean held-out loss over 4 folds at the chosen step"
printf "%-7s %-8s %-12s %-12s %s\n" method lr "loss before" "loss chosen" "steps"
for method in full lora prefix; do
  for lr in ${LRS:-3e-5 1e-4 3e-4 1e-3 3e-3 1e-2}; do
    line=$("$ELAB" finetune --base "$base" --task "$task" --method "$method" --n-train "$n" --seed "$seed" --lr "$lr" \
      --out "$out/$method-$lr" --overwrite --workers 1 2>/dev/null)
    # "... N=64, 40 steps on all N (chosen by 4-fold cross-validation: held-out loss 1.2345 -> 0.5432), ..."
    steps=$(sed -E 's/.*N=[0-9]+, ([0-9]+) steps.*/\1/' <<<"$line")
    before=$(sed -E 's/.*held-out loss ([0-9.]+) -> ([0-9.]+).*/\1/' <<<"$line")
    after=$(sed -E 's/.*held-out loss ([0-9.]+) -> ([0-9.]+).*/\2/' <<<"$line")
    printf "%-7s %-8s %-12s %-12s %s\n" "$method" "$lr" "$before" "$after" "$steps"
  done
done
