#!/usr/bin/env bash
# A third-party OpenAI-compatible server as elab's backend: llama.cpp's llama-server
# serving the SmolLM2 GGUF file, against the native engine reading the same file, on the
# same items and prompts, greedy (docs/PRETRAINED.md, "Through a third-party server").
#
#   bench/third-party-server.sh LLAMA_SERVER [TASK METHOD N CONCURRENCY]
#
# LLAMA_SERVER is llama.cpp's server binary, built from the llama.cpp that
# llama-cpp-python 0.3.36 vendors (docs/PRETRAINED.md says how). It runs with as many
# parallel slots as requests in flight (default 32), continuous batching, 2 threads.
# Writes bench/out/third-party/{native,server}.jsonl (elab eval --samples) and prints, per
# item, whether the greedy outputs are equal, and for the others where they part.
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:?usage: bench/third-party-server.sh LLAMA_SERVER [TASK METHOD N CONCURRENCY]}
task=${2:-bbh:boolean_expressions} method=${3:-cot:3} n=${4:-50} conc=${5:-32}
gguf=$(.venv/bin/python tests/python/paths.py smollm2)
out=bench/out/third-party && mkdir -p "$out"
port=8097

"$server" -m "$gguf" -np "$conc" -cb -t 2 -c $((conc * 2048)) --port $port > "$out/llama-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -sf localhost:$port/health > /dev/null; do sleep 0.5; done

start=$(date +%s.%N)
build/elab eval --model "openai:http://127.0.0.1:$port/v1#smollm2" --task "$task" --method "$method" -n "$n" \
  --concurrency "$conc" --timeout 1200 --no-cache --samples "$out/server.jsonl" --json "$out/server.json"
mid=$(date +%s.%N)
kill $pid; wait $pid 2>/dev/null || true
build/elab eval --model "$gguf" --task "$task" --method "$method" -n "$n" --samples "$out/native.jsonl" --json "$out/native.json"
end=$(date +%s.%N)
echo "wall: server $(echo "$mid - $start" | bc) s, native $(echo "$end - $mid" | bc) s"

.venv/bin/python - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
a = [json.loads(l) for l in (out / "native.jsonl").read_text().splitlines()]
b = [json.loads(l) for l in (out / "server.jsonl").read_text().splitlines()]
assert [x["prompt"] for x in a] == [x["prompt"] for x in b], "the two runs saw different prompts"
same = [x["output"] == y["output"] for x, y in zip(a, b)]
print(f"identical greedy outputs: {sum(same)}/{len(same)}; same extracted answer: "
      f"{sum(x['extracted'] == y['extracted'] for x, y in zip(a, b))}/{len(a)}; "
      f"accuracy native {sum(x['correct'] for x in a) / len(a):.3f}, server {sum(y['correct'] for y in b) / len(b):.3f}")
for i, (x, y) in enumerate(zip(a, b)):
    if x["output"] == y["output"]:
        continue
    s, t = x["output"], y["output"]
    k = next((j for j in range(min(len(s), len(t))) if s[j] != t[j]), min(len(s), len(t)))
    print(f"item {i}: part after {k} of {len(s)}/{len(t)} chars: native {s[k:k+30]!r} server {t[k:k+30]!r}")
PY
