#!/usr/bin/env bash
# The GPU check, prepared as one command for a CUDA machine (docs/GPU.md): build elab's
# libtorch 2.x engine against that machine's own PyTorch, then measure what the GPU path
# must show, into one JSON file:
#   parity      CPU against the device on the same items: gold log-probabilities and
#               greedy outputs of a trained preset (models/ladder/m-ladder-iid-s1) and of
#               a randomly initialised model of SmolLM2-135M's shape written by transformers
#   train       tokens/s and MFU of `elab bench train` at presets 3xl and 4xl (bf16)
#   generate    decoding tokens/s of `elab bench generate` (evaluation throughput)
#   slice       fine-tuning against in-context learning on one base: icl:8 and LoRA with
#               N = 8 on 2-digit addition, the same 8 examples, accuracy on the same test items
# Usage:
#   bench/gpu-check.sh [--device cuda|cpu] [--elab PATH] [--out FILE]
# On the GPU machine: bench/gpu-deps.sh here first, then (device tool) carry bench/gpu-debs
# and run `bash bench/gpu-check.sh --out $OUT/gpu-check.json`. With --device cpu (a test,
# tests/CMakeLists.txt) the sizes are small and --elab names a built binary, so it runs in
# a minute here; the build step is the only part it skips. Estimated on one H200: build
# 3-4 min on 16 cores, checks ~2 min.
set -euo pipefail
cd "$(dirname "$0")/.."
device=cuda elab="" out=gpu-check.json
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --elab) elab=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "gpu-check: unknown argument '$1' (--device, --elab, --out)" >&2; exit 2 ;;
  esac
done
case "$device" in cuda|cuda:*|cpu) ;; *) echo "gpu-check: --device must be cuda or cpu, got '$device'" >&2; exit 2 ;; esac
python=${PYTHON:-python3}
if ! "$python" -c "import transformers" 2>/dev/null && [ -x .venv/bin/python ]; then python=.venv/bin/python; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
log() { echo "gpu-check [$(( $(date +%s) - start )) s]: $*" >&2; }

# --- Build (skipped when --elab names a binary) -------------------------------------------
build_seconds=0
if [ -z "$elab" ]; then
  root=$PWD/bench/gpu-debs/root
  if ls bench/gpu-debs/*.deb > /dev/null 2>&1; then
    mkdir -p "$root"
    for f in bench/gpu-debs/*.deb; do dpkg -x "$f" "$root"; done
    # pkg-config files name /usr; here the packages live under $root.
    for pc in "$root"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc "$root"/usr/share/pkgconfig/*.pc; do
      [ -f "$pc" ] && sed -i "s|^prefix=/usr|prefix=$root/usr|" "$pc"
    done
    export PATH="$root/usr/bin:$PATH"
    export PKG_CONFIG_PATH="$root/usr/lib/x86_64-linux-gnu/pkgconfig:$root/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}"
    export CPATH="$root/usr/include:$root/usr/include/x86_64-linux-gnu:${CPATH:-}"
    export LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:${LIBRARY_PATH:-}"
    export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
    prefix_extra=";$root/usr"
  fi
  torch_dir=$("$python" -c "import os, torch; print(os.path.dirname(torch.__file__))")
  generator=Ninja
  command -v ninja > /dev/null || generator="Unix Makefiles"
  log "building against $torch_dir ($generator)"
  t0=$(date +%s)
  cmake -S . -B build-gpu -G "$generator" -DCMAKE_BUILD_TYPE=Release -DELAB_CUDA_ARCHS=9.0 \
    "-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir${prefix_extra:-}" -DELAB_TEST_BINARIES=core_test > "$work/cmake.log"
  cmake --build build-gpu --target elab -j"$(nproc)" > "$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
  build_seconds=$(( $(date +%s) - t0 ))
  elab=build-gpu/elab
fi
[ -x "$elab" ] || { echo "gpu-check: $elab is not an executable" >&2; exit 2; }

# --- Sizes ------------------------------------------------------------------------------
if [ "$device" = cpu ]; then
  n=12 random_layers=2 train_presets="xs s" train_steps=3 gen_preset=s slice_n=12
else
  n=100 random_layers=30 train_presets="3xl 4xl" train_steps=20 gen_preset=3xl slice_n=100
fi

# --- Parity: CPU against the device on the same items ------------------------------------
"$python" bench/gpu_random_model.py "$work/random" models/ladder/xs-ladder-iid-s1/tokenizer.json "$random_layers" \
  > /dev/null 2>&1
for model in models/ladder/m-ladder-iid-s1 "$work/random"; do
  name=$(basename "$model")
  for d in cpu "$device"; do
    "$elab" eval --model "$model" --task add:digits=2 --method icl:2 -n "$n" --device "$d" \
      --samples "$work/parity-$name-${d//:/_}.jsonl" > /dev/null 2>&1
  done
  log "parity $name done"
done

# --- Training and decoding throughput ----------------------------------------------------
precision=bf16
for p in $train_presets; do
  "$elab" bench train --preset "$p" --steps "$train_steps" --precision "$precision" --device "$device" \
    > "$work/train-$p.txt" 2>&1
  log "bench train $p: $(grep -o 'tokens_per_s=[0-9]*' "$work/train-$p.txt" | head -1)"
done
"$elab" bench generate --preset "$gen_preset" --batch 1 --batch 64 --device "$device" > "$work/generate.txt" 2>&1

# --- Fine-tuning against in-context learning: the same 8 examples ------------------------
base=models/ladder/m-ladder-bursty-s1
"$elab" eval --model "$base" --task add:digits=2 --method icl:8 -n "$slice_n" --device "$device" --json "$work/icl.json" \
  > /dev/null 2>&1
t0=$(date +%s)
"$elab" finetune --base "$base" --task add:digits=2 --method lora --n-train 8 --device "$device" --out "$work/lora" \
  > "$work/finetune.txt" 2>&1
finetune_seconds=$(( $(date +%s) - t0 ))
"$elab" eval --model "$work/lora" --task add:digits=2 --method direct -n "$slice_n" --device "$device" \
  --json "$work/lora.json" > /dev/null 2>&1
log "slice done"

# --- One JSON -----------------------------------------------------------------------------
"$python" - "$work" "$out" "$device" "$build_seconds" "$finetune_seconds" "$(( $(date +%s) - start ))" <<'PY'
import json, os, re, subprocess, sys
work, out, device, build_s, ft_s, total_s = sys.argv[1:7]

def key_values(path):
    values = {}
    for line in open(path):
        for k, v in re.findall(r"(\w+)=([-\w.]+)", line):
            try:
                values.setdefault(k, float(v))
            except ValueError:
                values.setdefault(k, v)
    return values

def samples(path):
    return [json.loads(line) for line in open(path)]

report = {"device": device, "build_seconds": int(build_s), "total_seconds": int(total_s)}
try:
    report["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                   capture_output=True, text=True).stdout.strip()
except OSError:
    report["gpu"] = None
try:
    import torch
    report["torch"] = torch.__version__
except ImportError:
    report["torch"] = None
dev = device.replace(":", "_")
parity = {}
for name in ["m-ladder-iid-s1", "random"]:
    a, b = samples(f"{work}/parity-{name}-cpu.jsonl"), samples(f"{work}/parity-{name}-{dev}.jsonl")
    assert len(a) == len(b) and a, f"parity {name}: {len(a)} and {len(b)} samples"
    diffs = [abs(x["gold_logprob"] - y["gold_logprob"]) for x, y in zip(a, b)]
    parity[name] = {"items": len(a), "max_abs_gold_logprob_diff": max(diffs),
                    "same_greedy_output": sum(x["output"] == y["output"] for x, y in zip(a, b))}
report["parity"] = parity
report["train"] = {}
for f in sorted(os.listdir(work)):
    if f.startswith("train-"):
        kv = key_values(f"{work}/{f}")
        report["train"][f[6:-4]] = {k: kv.get(k) for k in ["params", "tokens_per_s", "step_ms", "model_gflops", "mfu"]}
report["generate"] = [{k: v for k, v in re.findall(r"(\w+)=([-\w.]+)", line)}
                      for line in open(f"{work}/generate.txt") if line.startswith("batch=")]
icl, lora = json.load(open(f"{work}/icl.json")), json.load(open(f"{work}/lora.json"))
report["slice"] = {"task": "add:digits=2", "n_examples": 8, "items": icl.get("n"),
                   "icl_accuracy": icl.get("accuracy"), "lora_accuracy": lora.get("accuracy"),
                   "lora_job_seconds": int(ft_s)}
with open(out + ".tmp", "w") as f:
    json.dump(report, f, indent=2)
os.replace(out + ".tmp", out)
print(json.dumps(report, indent=2))
PY
