#!/usr/bin/env bash
# Prompting vs fine-tuning on one base, one held-out task, the same example pool:
# zero-shot, icl:K, and ft:full / ft:lora / ft:prefix with N = K and N = 256, each on
# the ID split and one OOD split, with 95% CIs. Slow (minutes): a benchmark, not a test.
#   bench/finetune-vs-icl.sh BASE_DIR [TASK] [OOD_SPLIT] [K] [N_TEST]
set -euo pipefail
ELAB=${ELAB:-build/elab}
base=${1:?usage: finetune-vs-icl.sh BASE_DIR [TASK] [OOD_SPLIT] [K] [N_TEST]}
task=${2:-lastletter}
ood=${3:-ood-length}
k=${4:-8}
n=${5:-300}
out=${OUT:-$(mktemp -d)}
echo "base $base, task $task, splits id/$ood, K=$k, n=$n, adapters in $out"
for split in id "$ood"; do
  for m in direct "icl:$k"; do
    "$ELAB" eval --model "$base" --task "$task" --split "$split" --method "$m" -n "$n" 2>/dev/null
  done
done
for method in full lora prefix; do
  for ntrain in "$k" 256; do
    dir="$out/$method-$ntrain"
    "$ELAB" finetune --base "$base" --task "$task" --method "$method" --n-train "$ntrain" --out "$dir" --overwrite \
      2>/dev/null | sed "s/^/  /"
    for split in id "$ood"; do
      echo -n "ft:$method N=$ntrain  "
      "$ELAB" eval --model "$dir" --task "$task" --split "$split" -n "$n" 2>/dev/null
    done
  done
done
