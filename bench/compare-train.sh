#!/usr/bin/env bash
# Training tokens/s of elab and of a plain PyTorch eager loop (bench/peers/pytorch_train.py,
# Debian's python3-torch: the same libtorch underneath) on the same preset, batch and
# sequence length, one after the other; prints both and the ratio.
#   bench/compare-train.sh PRESET [STEPS] [BATCH] [SEQ_LEN]
set -euo pipefail
ELAB=${ELAB:-build/elab}
PYTHON=${PYTHON:-/usr/bin/python3}
preset=${1:?usage: compare-train.sh PRESET [STEPS] [BATCH] [SEQ_LEN]}
steps=${2:-20}
batch=${3:-32}
seq=${4:-128}
here=$(cd "$(dirname "$0")" && pwd)
"$PYTHON" -c "import torch" 2>/dev/null || { echo "needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
"$ELAB" models config "$preset" >"$cfg"
elab_line=$("$ELAB" bench train --preset "$preset" --steps "$steps" --batch "$batch" --seq-len "$seq" | grep '^tokens_per_s=')
elab_tps=$(sed 's/tokens_per_s=\([0-9.]*\).*/\1/' <<<"$elab_line")
# The peer at its best measured thread setting here: torch 1 + OpenBLAS on every core.
peer_line=$(OPENBLAS_NUM_THREADS=$(nproc) "$PYTHON" "$here/peers/pytorch_train.py" --config "$cfg" --steps "$steps" \
  --batch "$batch" --seq-len "$seq" --threads 1)
peer_tps=$(sed 's/.*tokens_per_s=\([0-9.]*\).*/\1/' <<<"$peer_line")
echo "preset=$preset batch=$batch seq_len=$seq steps=$steps"
echo "elab $elab_line"
echo "$peer_line"
echo "ratio elab/pytorch=$(awk -v a="$elab_tps" -v b="$peer_tps" 'BEGIN { printf "%.2f", a / b }')"
