#!/usr/bin/env bash
# bench/gpu-check.sh --device cpu runs to completion and writes the JSON it promises:
# parity within float32 rounding on both models (CPU against CPU here, so identical),
# throughput figures for each preset, the slice's two accuracies.
#   gpu_check.sh REPO ELAB OUT_JSON
set -euo pipefail
repo=$1 elab=$2 out=$3
rm -f "$out"
bash "$repo/bench/gpu-check.sh" --device cpu --elab "$elab" --out "$out" > /dev/null
py=$repo/.venv/bin/python
[ -x "$py" ] || py=python3
"$py" - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["device"] == "cpu", r
for name, p in r["parity"].items():
    assert p["items"] == 12, (name, p)
    assert p["max_abs_gold_logprob_diff"] < 1e-4, (name, p)
    assert p["same_greedy_output"] == p["items"], (name, p)
assert set(r["train"]) == {"xs", "s"}, r["train"]
for preset, t in r["train"].items():
    assert t["tokens_per_s"] > 0 and 0 < t["mfu"], (preset, t)
assert [g["batch"] for g in r["generate"]] == ["1", "64"], r["generate"]
s = r["slice"]
assert s["items"] == 12 and 0 <= s["icl_accuracy"] <= 1 and 0 <= s["lora_accuracy"] <= 1, s
print("gpu-check on the CPU:", json.dumps(r["parity"]), "slice", s)
PY
