"""lm-evaluation-harness as a client of `elab serve`: its scores equal elab's own
evaluation of the same items (usage: lm_eval_agreement.py ELAB MODEL TASK N PORT [OUT]).

1. `elab eval --method direct` on TASK's first N test items writes each item's prompt,
   gold answer, correctness and the gold answer's log-probability.
2. Those prompts become two local lm-eval tasks (JSONL data, YAML configs; nothing is
   downloaded): a generation task (greedy until a newline, exact match after elab's
   rule for numeric answers, the last number, as a regex filter) and a log-likelihood
   task (the gold answer line after the prompt).
3. `lm_eval --model local-completions` runs both against `elab serve --model MODEL`, with
   the server's own tokenizer (/tokenize, tokenizer_backend=remote).
4. Exit status 0 when exact match agrees within 0.5 point and the mean log-likelihood
   within 1e-3 nats; a JSON summary on stdout either way (and in OUT/agreement.json).
"""
import json
import math
import pathlib
import subprocess
import sys
import tempfile

from lm_eval_client import run_lm_eval

elab, model, task, n, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
out = pathlib.Path(sys.argv[6]) if len(sys.argv) > 6 else pathlib.Path(tempfile.mkdtemp(prefix="elab-lm-eval-"))
out.mkdir(parents=True, exist_ok=True)

# 1. elab's own evaluation.
samples, summary = out / "elab-samples.jsonl", out / "elab-summary.json"
subprocess.run([elab, "eval", "--model", model, "--task", task, "--method", "direct", "-n", n,
                "--samples", str(samples), "--json", str(summary)], check=True, stderr=subprocess.DEVNULL)
items = [json.loads(line) for line in samples.read_text().splitlines()]
elab_summary = json.loads(summary.read_text())

# 2. The same items as lm-eval tasks. The direct format's target is " ANSWER\n".
data = out / "items.jsonl"
data.write_text("".join(json.dumps({"prompt": x["prompt"], "answer": x["gold"], "target": " " + x["gold"] + "\n"}) + "\n"
                        for x in items))
common = f"""dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
doc_to_text: "{{{{prompt}}}}"
"""
(out / "elab_generate.yaml").write_text(f"""task: elab_generate
{common}doc_to_target: "{{{{answer}}}}"
output_type: generate_until
generation_kwargs:
  until: ["\\n"]
  do_sample: false
  temperature: 0.0
  max_gen_toks: 32
filter_list:
  - name: strict
    filter:
      - function: regex
        regex_pattern: "(-?[0-9]+)"
        group_select: -1
      - function: take_first
metric_list:
  - metric: exact_match
""")
(out / "elab_loglikelihood.yaml").write_text(f"""task: elab_loglikelihood
{common}doc_to_target: "{{{{target}}}}"
target_delimiter: ""
output_type: loglikelihood
metric_list:
  - metric: perplexity
""")

# 3. lm-eval against `elab serve` (lm_eval_client.py).
run_lm_eval(elab, model, port, out, ["elab_generate", "elab_loglikelihood"])

# 4. The two sides.
results = json.loads(next((out / "lm-eval").rglob("results_*.json")).read_text())["results"]
lm_em = results["elab_generate"]["exact_match,strict"]
lm_mean_ll = -math.log(results["elab_loglikelihood"]["perplexity,none"])
elab_mean_ll = sum(x["gold_logprob"] for x in items) / len(items)
report = {
    "task": task, "items": len(items),
    "generation": {"lm_eval_exact_match": lm_em, "elab_accuracy": elab_summary["accuracy"],
                   "difference_points": 100 * (lm_em - elab_summary["accuracy"])},
    "loglikelihood": {"lm_eval_mean": lm_mean_ll, "elab_mean_gold_logprob": elab_mean_ll,
                      "difference": lm_mean_ll - elab_mean_ll},
}
(out / "agreement.json").write_text(json.dumps(report, indent=1))
print(json.dumps(report))
ok = abs(report["generation"]["difference_points"]) <= 0.5 and abs(report["loglikelihood"]["difference"]) <= 1e-3
sys.exit(0 if ok else 1)
