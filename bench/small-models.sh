#!/usr/bin/env bash
# Steps per second of a tiny model on a full-batch fixed training set (issue 31's grokking
# shape by default: 1 layer, d = 64, 4 heads, 1,000 modular-addition pairs, the loss on
# the answer), side by side in one run:
#   elab plain   libtorch operations, the output layer at every position (before the fused kernels)
#   elab fused   the fused CPU kernels, the last block past attention and the output layer at counted positions
#   torch eager  bench/peers/pytorch_train.py on the same shape, rows and counted positions (torch 2.x)
#   torch.compile  the same model under torch.compile (inductor), the output layer at counted positions
#   torch.compile + keep  and the last block's residual and MLP at counted positions, as elab fused
# Prints one line each and the ratios to elab plain.
#   bench/small-models.sh [RECIPE] [N_EXAMPLES] [STEPS] [SHAPE FLAGS...]
# e.g. bench/small-models.sh "task:modadd:p=59,symbols=1,train_fraction=0.5" 1000 20 --d-model 64 --layers 1 --heads 4
set -euo pipefail
ELAB=${ELAB:-build/elab}
PYTHON=${PYTHON:-.venv/bin/python}
recipe=${1:-task:modadd:p=59,train_fraction=0.5}
n=${2:-1000}
steps=${3:-20}
shift $(( $# < 3 ? $# : 3 ))
shape=("$@")
[ ${#shape[@]} -eq 0 ] && shape=(--d-model 64 --layers 1 --heads 4)
here=$(cd "$(dirname "$0")" && pwd)
"$PYTHON" -c "import torch" 2>/dev/null || { echo "needs torch in $PYTHON (make venv)" >&2; exit 1; }
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
"$ELAB" models show "${shape[@]}" | tail -n +2 >"$cfg"

field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
elab_run() {
  "$ELAB" bench train "${shape[@]}" --recipe "$recipe" --train-examples "$n" --steps "$steps" --kernels "$1" |
    grep '^tokens_per_s='
}
plain=$(elab_run plain)
fused=$(elab_run fused)
batch=$n
seq=$("$ELAB" bench train "${shape[@]}" --recipe "$recipe" --train-examples "$n" --steps 1 | sed -n 's/.*seq_len=\([0-9]*\).*/\1/p')
counted=$(field counted_per_step "$fused")
peer() {
  "$PYTHON" "$here/peers/pytorch_train.py" --config "$cfg" --steps "$steps" --batch "$batch" --seq-len "$seq" \
    --threads "$(nproc)" "$@"
}
eager=$(peer --counted "$counted")
compiled=$(peer --counted "$counted" --compile)
compiled_keep=$(peer --counted "$counted" --compile --keep-last-block)

ms() { field step_ms "$1"; }
ratio() { awk -v a="$(ms "$plain")" -v b="$1" 'BEGIN { printf "%.2f", a / b }'; }
echo "recipe=$recipe examples=$n rows=$batch seq_len=$seq counted_per_step=$counted steps=$steps shape=${shape[*]}"
printf "%-26s step_ms=%-8s speed_vs_elab_plain=%s\n" "elab plain" "$(ms "$plain")" "1.00"
printf "%-26s step_ms=%-8s speed_vs_elab_plain=%s\n" "elab fused" "$(ms "$fused")" "$(ratio "$(ms "$fused")")"
printf "%-26s step_ms=%-8s speed_vs_elab_plain=%s\n" "torch eager" "$(ms "$eager")" "$(ratio "$(ms "$eager")")"
printf "%-26s step_ms=%-8s speed_vs_elab_plain=%s\n" "torch.compile" "$(ms "$compiled")" "$(ratio "$(ms "$compiled")")"
printf "%-26s step_ms=%-8s speed_vs_elab_plain=%s\n" "torch.compile + keep" "$(ms "$compiled_keep")" \
  "$(ratio "$(ms "$compiled_keep")")"
