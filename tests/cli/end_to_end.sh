#!/usr/bin/env bash
# The command line as a user meets it: a tiny train -> eval run produces the documented
# files and JSON; bad input gives a one-line error and a non-zero exit, never a crash.
set -u
ELAB=${1:?usage: end_to_end.sh path/to/elab}
work=$(mktemp -d)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)  # the repository (its committed reports)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check_done() { checks=$((checks + 1)); }

# first_screen PAGE: opened at 1400 x 900, the page shows its four answers (.answer) and at
# least one figure without scrolling. A copy of the page gets a script that measures it.
first_screen() {
  check_done
  sed 's#</body>#<script>const h=innerHeight;const a=[...document.querySelectorAll(".answer")].filter(e=>e.getBoundingClientRect().bottom<=h).length;const f=[...document.querySelectorAll("svg")].filter(e=>{const r=e.getBoundingClientRect();return r.height>0\&\&r.top<h;}).length;document.body.setAttribute("data-first-screen","answers="+a+" figures="+f);</script></body>#' \
    "$1" >"$work/first-screen.html"
  chromium --headless=new --no-sandbox --disable-gpu --window-size=1400,900 --dump-dom "file://$work/first-screen.html" \
    2>/dev/null >"$work/first-screen.dom"
  local screen
  screen=$(grep -o 'data-first-screen="[^"]*"' "$work/first-screen.dom")
  case "$screen" in
    *'answers=4 figures='[1-9]*) ;;
    *) fail "$1: the first screen (1400x900) lacks the four answers or a figure: ${screen:-no measurement}" ;;
  esac
}

# expect_error "what" "text the message must contain" elab args...
expect_error() {
  local what=$1 want=$2; shift 2
  check_done
  "$ELAB" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ $rc -eq 0 ]; then fail "$what: exit code 0"; return; fi
  if [ $rc -gt 125 ]; then fail "$what: crashed (exit $rc)"; cat "$work/err"; return; fi
  if ! grep -q "^elab: error: " "$work/err"; then fail "$what: no 'elab: error:' line"; cat "$work/err"; return; fi
  if [ "$(wc -l <"$work/err")" -ne 1 ]; then fail "$what: error is not one line"; cat "$work/err"; return; fi
  if ! grep -qF -- "$want" "$work/err"; then fail "$what: message lacks '$want'"; cat "$work/err"; return; fi
  echo "ok: $what -> $(cat "$work/err")"
}

# --- a tiny end-to-end run ---------------------------------------------------------
"$ELAB" train --preset xs --recipe add --tokens 40000 --batch 8 --seq-len 64 --out "$work/m" 2>"$work/train.err" \
  || { fail "train"; cat "$work/train.err"; }
for f in config.json model.safetensors tokenizer.json meta.json trainer_state.json train_log.jsonl; do
  [ -s "$work/m/$f" ] || fail "checkpoint lacks $f"
done
grep -q '"model.layers.0.self_attn.q_proj.weight"' "$work/m/model.safetensors" || fail "HF tensor names"
grep -q '"preset": "xs"' "$work/m/meta.json" || fail "meta.json preset"
"$ELAB" eval --model "$work/m" --task add --split ood-length --method icl:2 -n 20 \
  --json "$work/r.json" --samples "$work/s.jsonl" >"$work/eval.out" 2>&1 || { fail "eval"; cat "$work/eval.out"; }
for key in task split method model n accuracy ci95 metrics extract_fail; do
  grep -q "\"$key\"" "$work/r.json" || fail "eval JSON lacks $key"
done
[ "$(wc -l <"$work/s.jsonl")" -eq 20 ] || fail "samples: expected 20 lines"
grep -q '"correct"' "$work/s.jsonl" || fail "samples lack 'correct'"
"$ELAB" train --preset xs --recipe add --tokens 40000 --batch 8 --seq-len 64 --out "$work/m" --resume >"$work/resume.out" 2>&1 \
  || fail "resume of a finished run"

checks=$((checks + 4))  # train, files, eval JSON and samples, resume

# Methods that sample, the probes, a paired comparison of two results on the same items.
"$ELAB" eval --model "$work/m" --task add --method sc:1:3 -n 6 --max-new-tokens 24 --json "$work/sc.json" >/dev/null 2>&1 \
  || fail "eval sc"
grep -q '"extracted_each"' <("$ELAB" eval --model "$work/m" --task coin --method complex:2:3 -n 3 --max-new-tokens 24 --samples - 2>/dev/null) \
  || fail "eval complex samples to stdout"
"$ELAB" eval --model "$work/m" --task coin --method icl:2:flipped -n 6 --json "$work/flip.json" >/dev/null 2>&1 || fail "eval flipped"
"$ELAB" eval --model "$work/m" --task coin --method icl:2 -n 6 --json "$work/plain.json" >/dev/null 2>&1 || fail "eval icl"
"$ELAB" compare "$work/plain.json" "$work/flip.json" >"$work/cmp.out" 2>&1 || { fail "compare"; cat "$work/cmp.out"; }
grep -q "paired bootstrap 95% CI, n=6" "$work/cmp.out" || fail "compare output"
"$ELAB" methods list | grep -q "sc:K:N\[:T\]" || fail "methods list"
"$ELAB" tasks list | grep -q "wordprob" || fail "tasks list"
"$ELAB" recipes show mix | grep -q "instruct" || fail "recipes show"
printf '{"question": "2+2?", "answer": "4"}\nnot json\n' >"$work/t.jsonl"
"$ELAB" eval --model "$work/m" --task "jsonl:$work/t.jsonl" -n 1 --skip-bad >"$work/skip.out" 2>&1 || fail "eval --skip-bad"
grep -q "skipped 1 malformed lines" "$work/skip.out" || fail "--skip-bad reports the count"
checks=$((checks + 10))

# --- bad input -------------------------------------------------------------------------
expect_error "unknown preset" "valid: xs, s, m" train --preset huge --recipe add --tokens 100 --out "$work/x"
expect_error "unknown recipe" "valid:" train --preset xs --recipe nope --tokens 100 --out "$work/x"
expect_error "zero tokens" "--tokens must be positive" train --preset xs --recipe add --tokens 0 --out "$work/x"
expect_error "negative batch" "positive" train --preset xs --recipe add --tokens 100 --batch -4 --out "$work/x"
expect_error "overwrite" "already holds a checkpoint" train --preset xs --recipe add --tokens 40000 --batch 8 --seq-len 64 --out "$work/m"
expect_error "unknown task" "valid: add" eval --model "$work/m" --task subtract
expect_error "unknown split" "valid: id, ood-length" eval --model "$work/m" --task add --split ood-depth
expect_error "unknown method" "valid: direct, icl, cot" eval --model "$work/m" --task add --method zeroshot
expect_error "malformed method" "grammar" eval --model "$work/m" --task add --method icl:-1
expect_error "missing model" "does not exist" eval --model "$work/none" --task add
expect_error "bad device" "--device" eval --model "$work/m" --task add --device tpu

expect_error "method without N" "sc:K:N[:T]" eval --model "$work/m" --task add --method sc:4
expect_error "probe on non-binary task" "needs a yes/no task" eval --model "$work/m" --task add --method icl:2:flipped -n 2
if [ -d "$(dirname "$ELAB")/../../shared/data/bbh" ] || [ -n "${ELAB_DATA:-}" ]; then
  expect_error "K beyond the pool" "has only 3" eval --model "$work/m" --task "bbh:navigate" --method icl:4 -n 1
else
  echo "skip: BBH data not found, K-beyond-the-pool check skipped"
fi
expect_error "malformed jsonl" "t.jsonl:2: not a JSON object" eval --model "$work/m" --task "jsonl:$work/t.jsonl"
expect_error "unknown format" "valid: direct, cot, code, instruct, reverse" tasks sample add --format poem
expect_error "compare other items" "different items" compare "$work/plain.json" "$work/sc.json"
cp -r "$work/m" "$work/trunc"
head -c 1000 "$work/m/model.safetensors" >"$work/trunc/model.safetensors"
expect_error "truncated weights" "model.safetensors" eval --model "$work/trunc" --task add
cp -r "$work/m" "$work/shape"
sed -i 's/"hidden_size": 32/"hidden_size": 64/' "$work/shape/config.json"
expect_error "shape mismatch" "shape" eval --model "$work/shape" --task add
cp -r "$work/m" "$work/badjson"
echo '{"hidden_size": ' >"$work/badjson/config.json"
expect_error "malformed config" "config.json: malformed JSON" eval --model "$work/badjson" --task add
cp -r "$work/m" "$work/nocfg"
rm "$work/nocfg/config.json"
expect_error "missing config" "missing config.json" eval --model "$work/nocfg" --task add

# --- fine-tuning: an adapter, its evaluation and merged export --------------------
"$ELAB" finetune --base "$work/m" --task add --method lora --n-train 16 --steps 5 --out "$work/lora" \
  >"$work/ft.out" 2>&1 || { fail "finetune"; cat "$work/ft.out"; }
check_done
for f in adapter_config.json adapter_model.safetensors meta.json train_log.jsonl; do
  [ -s "$work/lora/$f" ] || fail "adapter lacks $f"
done
grep -q '"peft_type": "LORA"' "$work/lora/adapter_config.json" || fail "adapter_config.json peft_type"
"$ELAB" eval --model "$work/lora" --task add -n 10 --json "$work/lora.json" >/dev/null 2>&1 || fail "eval adapter"
"$ELAB" export --model "$work/lora" --merge --out "$work/merged" >/dev/null 2>&1 || fail "export --merge"
"$ELAB" eval --model "$work/merged" --task add -n 10 --json "$work/merged.json" >/dev/null 2>&1 || fail "eval merged"
[ "$(grep '"accuracy"' "$work/lora.json")" = "$(grep '"accuracy"' "$work/merged.json")" ] || fail "merged accuracy differs"
expect_error "finetune missing base" "does not exist" finetune --base "$work/none" --task add --method full --n-train 8 --out "$work/x"
expect_error "finetune corrupt base" "model.safetensors" finetune --base "$work/trunc" --task add --method full --n-train 8 --out "$work/x"
expect_error "finetune rank" "--rank must be positive" finetune --base "$work/m" --task add --method lora --rank 0 --n-train 8 --out "$work/x"
expect_error "finetune lr text" "lr must be a number, got 'fast'" finetune --base "$work/m" --task add --method lora --lr fast --n-train 8 --out "$work/x"
expect_error "finetune prefix length" "beyond the model's context" finetune --base "$work/m" --task add --method prefix --prefix-length 100000 --n-train 8 --out "$work/x"
expect_error "finetune unknown method" "unknown fine-tuning method" finetune --base "$work/m" --task add --method ia3 --n-train 8 --out "$work/x"
expect_error "finetune over a model" "already holds a model" finetune --base "$work/m" --task add --method lora --n-train 8 --out "$work/lora"
cp -r "$work/lora" "$work/orphan"
sed -i 's#"base_model_name_or_path": "[^"]*"#"base_model_name_or_path": "/nonexistent/base"#; s#"base_relative": "[^"]*"#"base_relative": "../nonexistent"#' "$work/orphan/adapter_config.json"
expect_error "adapter without base" "base model /nonexistent/base is missing" eval --model "$work/orphan" --task add
expect_error "export a full checkpoint" "already a full checkpoint" export --model "$work/m" --merge --out "$work/x"
[ -e "$work/x" ] && fail "a failed command left $work/x behind"

# --- serving: elab eval through openai: against elab serve, then a graceful stop ---
"$ELAB" serve --model "$work/m" --port 0 2>"$work/serve.err" &
serve_pid=$!
port=""
for _ in $(seq 50); do
  port=$(sed -n 's#.*http://127.0.0.1:\([0-9]*\)/v1.*#\1#p' "$work/serve.err")
  [ -n "$port" ] && break
  sleep 0.1
done
check_done
if [ -z "$port" ]; then
  fail "serve did not report its port"; cat "$work/serve.err"
else
  "$ELAB" eval --model "openai:http://127.0.0.1:$port/v1#m" --task add -n 10 --no-cache --json "$work/http.json" \
    >/dev/null 2>"$work/http.err" || { fail "eval over HTTP"; cat "$work/http.err"; }
  "$ELAB" eval --model "$work/m" --task add -n 10 --json "$work/native.json" >/dev/null 2>&1
  [ "$(grep '"accuracy"' "$work/http.json")" = "$(grep '"accuracy"' "$work/native.json")" ] || fail "HTTP accuracy differs from native"
  expect_error "unknown backend option" "unknown option of backend openai:URL#MODEL 'colour'" eval --model "openai:http://127.0.0.1:$port/v1#m" --task add --model-args colour=red
  expect_error "openai without model name" "name the model after '#'" eval --model "openai:http://127.0.0.1:$port/v1" --task add
fi
kill -INT $serve_pid
wait $serve_pid
rc=$?
[ $rc -eq 0 ] || fail "serve exited with $rc after SIGINT"
grep -q "stopping" "$work/serve.err" || fail "serve did not report a graceful stop"
expect_error "serve a missing model" "does not exist" serve --model "$work/none"
printf '{"index": 0}\n' >"$work/bad-replay.jsonl"
expect_error "malformed replay line" "bad-replay.jsonl:1: a line needs 'prediction'" eval --model "replay:$work/bad-replay.jsonl" --task add

# --- studies: resume after SIGKILL and shard + merge give the uninterrupted numbers --
cat >"$work/study.toml" <<TOML
[study]
name = "e2e"
seeds = [1, 2]
dir = "$work/study-a"
[pretrain]
presets = ["xs"]
recipes = ["task:add:digits=2"]
tokens = 400000
batch = 8
seq_len = 64
[[evaluate]]
tasks = ["add:digits=2"]
methods = ["direct", "icl:2"]
n = 20
[[finetune]]
tasks = ["add:digits=2"]
methods = ["lora"]
n_train = [4]
lr_search = 1
evaluate = { methods = ["direct"], n = 20 }
TOML
"$ELAB" study run "$work/study.toml" >/dev/null 2>"$work/study.err" || { fail "study run"; cat "$work/study.err"; }
"$ELAB" study report "$work/study.toml" >/dev/null 2>&1 || fail "study report"
check_done
for f in index.html report.md results.csv; do [ -s "$work/study-a/report/$f" ] || fail "report lacks $f"; done
# One self-contained file that opens offline: no script, style sheet or image from elsewhere.
if grep -Eq '<(script|link|img)[^>]*(src|href)=|url\(' "$work/study-a/report/index.html"; then fail "the report loads something from outside the file"; fi
# Answers first, in the Markdown too: the answers come before the first question's section.
answers_at=$(grep -n '^## Answers' "$work/study-a/report/report.md" | head -1 | cut -d: -f1)
q1_at=$(grep -n '^## Q1 ' "$work/study-a/report/report.md" | head -1 | cut -d: -f1)
[ -n "$answers_at" ] && [ -n "$q1_at" ] && [ "$answers_at" -lt "$q1_at" ] || fail "report.md does not open with the answers"
# The report renders in a real browser: no console errors, and not a blank page.
if command -v chromium >/dev/null; then
  check_done
  chromium --headless=new --no-sandbox --disable-gpu --window-size=1200,1600 --enable-logging=stderr --v=0 \
    --screenshot="$work/report.png" "file://$work/study-a/report/index.html" >/dev/null 2>"$work/chromium.log"
  if grep -q "CONSOLE" "$work/chromium.log"; then fail "console messages in the report"; grep CONSOLE "$work/chromium.log"; fi
  size=$(stat -c %s "$work/report.png" 2>/dev/null || echo 0)
  [ "$size" -gt 30000 ] || fail "report screenshot is blank or missing ($size bytes)"
  # The first screen as a person opens the report (1400 x 900): the four answers and at
  # least one figure lie inside it. This run's report, and the quickstart's committed one.
  first_screen "$work/study-a/report/index.html"
  [ -f "$ROOT/docs/results/quickstart/index.html" ] && first_screen "$ROOT/docs/results/quickstart/index.html"
else
  echo "skip: chromium not installed (scripts/install-deps.sh installs it); report rendering not checked"
fi
sed "s#study-a#study-b#" "$work/study.toml" >"$work/study-b.toml"
# Killed once three jobs are recorded (mid-study), then run again.
"$ELAB" study run "$work/study-b.toml" >/dev/null 2>"$work/study-b.log" &
pid=$!
for _ in $(seq 600); do grep -q '^\[3/' "$work/study-b.log" && break; sleep 0.05; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
"$ELAB" study run "$work/study-b.toml" >"$work/study-b.out" 2>"$work/study-b.err" || { fail "study resume"; cat "$work/study-b.err"; }
grep -q " ran, [1-9][0-9]* already done" "$work/study-b.out" || { fail "the killed study had nothing recorded, or nothing left to run"; cat "$work/study-b.out"; }
"$ELAB" study report "$work/study-b.toml" >/dev/null 2>&1
check_done
cmp -s "$work/study-a/report/results.csv" "$work/study-b/report/results.csv" || fail "resumed study differs from the uninterrupted one"
sed "s#study-a#study-c#" "$work/study.toml" >"$work/study-c.toml"
"$ELAB" study run "$work/study-c.toml" --shard 0/2 >/dev/null 2>&1 || fail "shard 0/2"
"$ELAB" study run "$work/study-c.toml" --shard 1/2 >/dev/null 2>&1 || fail "shard 1/2"
"$ELAB" study merge "$work/study-c/results-shard-0-of-2.db" "$work/study-c/results-shard-1-of-2.db" \
  --out "$work/study-c/results.db" >/dev/null 2>&1 || fail "study merge"
"$ELAB" study report "$work/study-c.toml" >/dev/null 2>&1
check_done
cmp -s "$work/study-a/report/results.csv" "$work/study-c/report/results.csv" || fail "shards + merge differ from one run"
"$ELAB" study status "$work/study.toml" | grep -q "all       done" || fail "study status"
# Slurm: the sbatch script is valid bash and names every shard's database exactly once.
"$ELAB" study slurm "$work/study.toml" --shards 2 --partition cpu --out "$work/slurm.sh" >/dev/null 2>&1 || fail "study slurm"
check_done
bash -n "$work/slurm.sh" || fail "slurm script does not parse"
grep -q -- "--array=0-1 " "$work/slurm.sh" || fail "slurm script: array range"
for i in 0 1; do
  [ "$(grep -o "results-shard-$i-of-2.db" "$work/slurm.sh" | wc -l)" -eq 1 ] || fail "slurm script names shard $i not exactly once"
done
expect_error "more shards than base models" "only 2 base models" study slurm "$work/study.toml" --shards 3 --out "$work/x.sh"
printf '[study]\nname = "x"\n[pretrain]\npresets = ["xs"]\nrecipes = ["base"]\ntokens = "lots"\n' >"$work/bad-study.toml"
expect_error "study with a bad value" "bad-study.toml:6: tokens: must be a number" study run "$work/bad-study.toml"
printf 'not a database at all, just text that is long enough to fill a page ........................................' >"$work/junk.db"
expect_error "report from a foreign file" "junk.db" report --db "$work/junk.db" --out "$work/rep"

# --- data-parallel training: two ranks on loopback are one process --------------------
# The loss (and held-out loss) at every logged step agrees within 1e-5 relative.
same_curve() {  # same_curve A/train_log.jsonl B/train_log.jsonl
  paste -d' ' <(grep -o '"loss":[^,}]*' "$1" | cut -d: -f2) <(grep -o '"loss":[^,}]*' "$2" | cut -d: -f2) |
    awk 'NF != 2 { bad = 1 } { d = ($1 - $2) / $1; if (d < 0) d = -d; if (d > 1e-5) bad = 1; n++ }
         END { exit (bad || n < 10) }'
}
dp_args=(--preset xs --recipe add --tokens 30000 --batch 8 --seq-len 64 --eval-every 5)
"$ELAB" train "${dp_args[@]}" --out "$work/dp1" >/dev/null 2>&1 || fail "train, one process"
"$ELAB" train "${dp_args[@]}" --out "$work/dp2" --nproc 2 >"$work/dp2.out" 2>"$work/dp2.err" || { fail "train --nproc 2"; cat "$work/dp2.err"; }
check_done
grep -q "2 ranks (gloo)" "$work/dp2.err" || fail "train --nproc 2 does not say it runs 2 ranks"
[ "$(grep -c '^trained xs' "$work/dp2.out")" -eq 1 ] || fail "train --nproc 2: expected one 'trained' line (rank 0 only)"
grep -q '"allreduce_s"' "$work/dp2/train_log.jsonl" || fail "train log lacks the all-reduce time"
same_curve "$work/dp1/train_log.jsonl" "$work/dp2/train_log.jsonl" || fail "loss curves of 1 and 2 ranks differ by more than 1e-5"
for d in dp1 dp2; do
  "$ELAB" eval --model "$work/$d" --task add -n 20 --samples "$work/$d.samples" >/dev/null 2>&1 || fail "eval $d"
done
cmp -s <(grep -o '"prediction":"[^"]*"' "$work/dp1.samples") <(grep -o '"prediction":"[^"]*"' "$work/dp2.samples") \
  || fail "checkpoints of 1 and 2 ranks evaluate differently"
# Stopped after step 10 on 2 ranks, resumed on 2: the uninterrupted curve.
"$ELAB" train "${dp_args[@]}" --out "$work/dp3" --nproc 2 --stop-after 10 >/dev/null 2>&1 || fail "train --nproc 2 --stop-after"
"$ELAB" train "${dp_args[@]}" --out "$work/dp3" --nproc 2 --resume >/dev/null 2>&1 || fail "train --nproc 2 --resume"
check_done
same_curve "$work/dp1/train_log.jsonl" "$work/dp3/train_log.jsonl" || fail "stopped + resumed 2-rank curve differs"
# A rank killed mid-run: the other ends with an error naming the cause, well before the timeout.
long_args=(--preset s --recipe add --tokens 5000000 --batch 8 --seq-len 64 --out "$work/dpk" --dist-timeout 60)
port=$((20000 + RANDOM % 20000))
WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$ELAB" train "${long_args[@]}" >/dev/null 2>"$work/rank0.err" &
rank0=$!
WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$ELAB" train "${long_args[@]}" >/dev/null 2>&1 &
rank1=$!
for _ in $(seq 100); do [ -s "$work/dpk/train_log.jsonl" ] && break; sleep 0.1; done
{ kill -9 $rank1; wait $rank1; } 2>/dev/null
start=$SECONDS
wait $rank0
rc=$?
check_done
[ $rc -ne 0 ] || fail "rank 0 exited 0 after rank 1 was killed"
[ $((SECONDS - start)) -lt 30 ] || fail "rank 0 took $((SECONDS - start)) s to notice a dead rank"
grep -q "^elab: error (rank 0): .* failed: another rank exited or was killed" "$work/rank0.err" \
  || { fail "rank 0's message after rank 1 died"; cat "$work/rank0.err"; }
# Ctrl-C on the launcher: rank 0 checkpoints, every rank stops, --resume continues.
rm -rf "$work/dpk"
"$ELAB" train "${long_args[@]}" --nproc 2 >/dev/null 2>"$work/int.err" &
launcher=$!
for _ in $(seq 100); do [ -s "$work/dpk/train_log.jsonl" ] && break; sleep 0.1; done
kill -INT $launcher
wait $launcher
check_done
grep -q "interrupted at step" "$work/int.err" || { fail "SIGINT to the launcher"; cat "$work/int.err"; }
[ -s "$work/dpk/trainer_state.json" ] || fail "SIGINT to the launcher: no checkpoint"
stopped=$(grep -o '"step": [0-9]*' "$work/dpk/trainer_state.json" | grep -o '[0-9]*')
"$ELAB" train "${long_args[@]}" --nproc 2 --resume --stop-after $((stopped + 2)) >/dev/null 2>&1 || fail "resume after SIGINT"
grep -q "\"step\": $((stopped + 2))" "$work/dpk/trainer_state.json" || fail "resume after SIGINT did not continue"
# Data-parallel fine-tuning writes one adapter.
"$ELAB" finetune --base "$work/m" --task add --method lora --n-train 17 --steps 4 --out "$work/dplora" --nproc 2 \
  >"$work/dpft.out" 2>&1 || { fail "finetune --nproc 2"; cat "$work/dpft.out"; }
check_done
[ "$(grep -c '^finetuned lora' "$work/dpft.out")" -eq 1 ] || fail "finetune --nproc 2: expected one 'finetuned' line"
[ -s "$work/dplora/adapter_model.safetensors" ] || fail "finetune --nproc 2 wrote no adapter"
expect_error "nccl without a CUDA device" "--backend nccl needs a" train "${dp_args[@]}" --out "$work/x" --backend nccl --nproc 2
"$ELAB" train --preset xs --recipe add --tokens 30000 --batch 7 --out "$work/odd" --nproc 2 >/dev/null 2>"$work/odd.err"
rc=$?
check_done
[ $rc -ne 0 ] && grep -q "does not split evenly over 2 ranks" "$work/odd.err" || { fail "batch 7 over 2 ranks"; cat "$work/odd.err"; }

# --- imported results: elab import, then elab report over the database -----------------
mkdir -p "$work/imp"
printf 'Model,Size,cot,direct\norg/a-1b,1,0.10,0.10\norg/a-10b,10,0.40,0.12\norg/a-100b,100,0.70,0.15\n' >"$work/imp/t.csv"
cat >"$work/imp/map.toml" <<'TOML'
[model]
name = "{Model}"
family = "a"
parameters = "{Size}"
parameters_scale = 1e9
[[values]]
pattern = '^(cot|direct)$'
task = "gsm8k"
style = "{1}"
shots = 8
metric = "exact_match"
direction = "higher"
chance = 0
n = 1000
TOML
"$ELAB" import csv "$work/imp/t.csv" --mapping "$work/imp/map.toml" --db "$work/imp/r.db" >"$work/imp.out" 2>&1 \
  || { fail "import csv"; cat "$work/imp.out"; }
check_done
grep -q "6 rows read, 6 added" "$work/imp.out" || { fail "import csv: expected 6 rows added"; cat "$work/imp.out"; }
"$ELAB" report --db "$work/imp/r.db" --out "$work/imp/report" >"$work/imp-report.out" 2>&1 || { fail "report of imported rows"; cat "$work/imp-report.out"; }
check_done
[ -s "$work/imp/report/index.html" ] && [ -s "$work/imp/report/verdicts.json" ] || fail "report of imported rows wrote no index.html / verdicts.json"
printf 'Model,Size,cot,direct\norg/a-1b,1,0.99,0.10\n' >"$work/imp/clash.csv"
expect_error "a conflicting re-import" "two sources disagree" import csv "$work/imp/clash.csv" --mapping "$work/imp/map.toml" --db "$work/imp/r.db"
printf 'Model,Size,cot,direct\norg/a-1b,1,0.10\n' >"$work/imp/ragged.csv"
expect_error "a ragged CSV" "ragged.csv:2: 3 fields, but the header has 4" import csv "$work/imp/ragged.csv" --mapping "$work/imp/map.toml" --db "$work/imp/r.db"
expect_error "a missing database" "none.db: results database does not exist" report --db "$work/imp/none.db" --out "$work/x"
echo "not a database at all" >"$work/imp/garbage.db"
expect_error "a corrupt results database" "garbage.db: not a readable SQLite database (" report --db "$work/imp/garbage.db" --out "$work/x"
printf '{"results": {"arc_easy": {"acc": 0.4,,}}}' >"$work/imp/bad.json"
expect_error "malformed lm-eval JSON" "bad.json:1: not valid JSON" import lm-eval "$work/imp/bad.json" --db "$work/imp/r.db"

# --- bf16 matrix products -------------------------------------------------------------
"$ELAB" train --preset xs --recipe add --tokens 20000 --batch 8 --seq-len 64 --precision bf16 --out "$work/bf16" >/dev/null 2>&1 \
  || fail "train --precision bf16"
check_done
grep -q '"precision": "bf16"' "$work/bf16/trainer_state.json" || fail "trainer_state.json lacks the precision"
expect_error "unknown precision" "--precision must be fp32 or bf16, got 'fp16'" train --preset xs --recipe add --tokens 1000 --precision fp16 --out "$work/x"
expect_error "unknown kernels" "--kernels must be fused or plain, got 'fast'" bench train --preset xs --steps 1 --kernels fast
expect_error "bench on a mixed recipe" "--train-examples needs a recipe of one task" bench train --preset xs --steps 1 --train-examples 8 --recipe base

# --- reproductions -------------------------------------------------------------------
check_done
"$ELAB" reproduce list --dir "$ROOT/studies/reproduce" >"$work/repro.out" 2>&1 || fail "reproduce list"
grep -q "^cot-depth .*Feng et al. 2023" "$work/repro.out" || { fail "reproduce list lacks cot-depth"; cat "$work/repro.out"; }
grep -q "criterion: \[s/task:expr@cot expr id cot:0\]" "$work/repro.out" || fail "reproduce list lacks the criterion"
expect_error "unknown reproduction" "unknown reproduction 'nope'" reproduce nope --dir "$ROOT/studies/reproduce"
# A study file edited so that its criterion needs more seeds than it runs: refused before anything runs.
mkdir -p "$work/repro"
sed 's/^min_seeds = 2$/min_seeds = 5/' "$ROOT/studies/reproduce/cot-depth.toml" >"$work/repro/edited.toml"
expect_error "criterion against settings" "needs at least 5 seeds and the study runs 2" reproduce edited --dir "$work/repro"

echo "$(( checks - failures )) passed, $failures failed"
[ $failures -eq 0 ]
