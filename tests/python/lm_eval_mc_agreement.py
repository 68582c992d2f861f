"""lm-evaluation-harness's multiple choice against elab's mc:K on the same items
(usage: lm_eval_mc_agreement.py ELAB MODEL TASK K N PORT [OUT]).

1. `elab eval --method mc:K` on TASK's first N test items writes each item's prompt, its
   options, their log-likelihoods and the gold answer (--samples), and acc / acc_norm.
2. Those become a local lm-eval task (JSONL data, a YAML config; nothing is downloaded):
   output_type multiple_choice, the prompt as doc_to_text, the options as doc_to_choice,
   the gold's position as doc_to_target, lm-eval's default " " between them.
3. `lm_eval --model local-completions` runs it against `elab serve --model MODEL`, which
   scores each option through /v1/completions (echo + logprobs).
4. Exit status 0 when lm-eval's acc and acc_norm equal elab's (the same items, so they
   must be equal, not close) and every option's log-likelihood agrees within 1e-3 nats;
   a JSON summary on stdout either way (and in OUT/agreement.json).
"""
import json
import pathlib
import subprocess
import sys
import tempfile

from lm_eval_client import run_lm_eval

elab, model, task, k, n, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
out = pathlib.Path(sys.argv[7]) if len(sys.argv) > 7 else pathlib.Path(tempfile.mkdtemp(prefix="elab-lm-eval-mc-"))
out.mkdir(parents=True, exist_ok=True)

# 1. elab's own evaluation.
samples, summary = out / "elab-samples.jsonl", out / "elab-summary.json"
subprocess.run([elab, "eval", "--model", model, "--task", task, "--method", f"mc:{k}", "-n", n,
                "--samples", str(samples), "--json", str(summary)], check=True, stderr=subprocess.DEVNULL)
items = [json.loads(line) for line in samples.read_text().splitlines()]
elab_summary = json.loads(summary.read_text())

# 2. The same items as an lm-eval multiple-choice task.
data = out / "items.jsonl"
data.write_text("".join(json.dumps({"prompt": x["prompt"], "options": x["options"],
                                    "gold": x["options"].index(x["gold"])}) + "\n" for x in items))
(out / "elab_mc.yaml").write_text(f"""task: elab_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{prompt}}}}"
doc_to_choice: "{{{{options}}}}"
doc_to_target: "{{{{gold}}}}"
metric_list:
  - metric: acc
  - metric: acc_norm
""")

# 3. lm-eval against `elab serve` (lm_eval_client.py).
run_lm_eval(elab, model, port, out, ["elab_mc"])

# 4. The two sides.
results = json.loads(next((out / "lm-eval").rglob("results_*.json")).read_text())["results"]["elab_mc"]
lm_samples = [json.loads(line) for line in next((out / "lm-eval").rglob("samples_elab_mc*.jsonl")).read_text().splitlines()]
worst = 0.0
for s in lm_samples:
    mine = items[s["doc_id"]]["logprobs"]
    theirs = [float(r[0]) for r in s["filtered_resps"]]
    worst = max(worst, max(abs(a - b) for a, b in zip(mine, theirs)))
report = {
    "task": task, "method": f"mc:{k}", "items": len(items),
    "acc": {"lm_eval": results["acc,none"], "elab": elab_summary["accuracy"]},
    "acc_norm": {"lm_eval": results["acc_norm,none"], "elab": elab_summary["accuracy_norm"]},
    "max_option_loglikelihood_difference": worst,
}
(out / "agreement.json").write_text(json.dumps(report, indent=1))
print(json.dumps(report))
ok = (abs(report["acc"]["lm_eval"] - report["acc"]["elab"]) < 1e-9
      and abs(report["acc_norm"]["lm_eval"] - report["acc_norm"]["elab"]) < 1e-9 and worst <= 1e-3)
sys.exit(0 if ok else 1)
