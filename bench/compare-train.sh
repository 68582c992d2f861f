#!/usr/bin/env bash
# Training tokens/s of elab and of a plain PyTorch eager loop (bench/peers/pytorch_train.py,
# Debian's python3-torch: the same libtorch underneath) on the same preset, batch and
# sequence length, one after the other; prints both and the ratio.
#   bench/compare-train.sh PRESET [STEPS] [BATCH] [SEQ_LEN]
# PRECISION=bf16 runs both with bf16 matrix products (elab --precision bf16, torch.autocast).
set -euo pipefail
ELAB=${ELAB:-build/elab}
PYTHON=${PYTHON:-/usr/bin/python3}
preset=${1:?usage: compare-train.sh PRESET [STEPS] [BATCH] [SEQ_LEN]}
steps=${2:-20}
batch=${3:-32}
seq=${4:-128}
precision=${PRECISION:-fp32}
here=$(cd "$(dirname "$0")" && pwd)
"$PYTHON" -c "import torch" 2>/dev/null || { echo "needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
"$ELAB" models config "$preset" >"$cfg"
elab_line=$("$ELAB" bench train --preset "$preset" --steps "$steps" --batch "$batch" --seq-len "$seq" \
  --precision "$precision" | grep '^tokens_per_s=')
elab_tps=$(sed 's/tokens_per_s=\([0-9.]*\).*/\1/' <<<"$elab_line")
# The peer at its best measured thread setting here: fp32 torch 1 + OpenBLAS on every
# core (8.8K tok/s on l, against 8.4K with 2 + 1 and 5.1K with 2 + 2); bf16 products run
# on oneDNN, which uses torch's threads: torch on every core (l: 25.5K, against 13.5K).
peer_threads=1
[ "$precision" = bf16 ] && peer_threads=$(nproc)
peer_line=$(OPENBLAS_NUM_THREADS=$(nproc) "$PYTHON" "$here/peers/pytorch_train.py" --config "$cfg" --steps "$steps" \
  --batch "$batch" --seq-len "$seq" --threads "$peer_threads" --precision "$precision")
peer_tps=$(sed 's/.*tokens_per_s=\([0-9.]*\).*/\1/' <<<"$peer_line")
echo "preset=$preset batch=$batch seq_len=$seq steps=$steps precision=$precision"
echo "elab $elab_line"
echo "$peer_line"
echo "ratio elab/pytorch=$(awk -v a="$elab_tps" -v b="$peer_tps" 'BEGIN { printf "%.2f", a / b }')"
