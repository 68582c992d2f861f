"""lm-evaluation-harness as a client of `elab serve`: start the server on a model, run
lm_eval's local-completions model against it on local task configs (nothing is
downloaded; the server's own tokenizer through /tokenize), stop the server. Shared by
lm_eval_agreement.py and lm_eval_mc_agreement.py."""
import os
import subprocess
import sys
import time
import urllib.request


def run_lm_eval(elab, model, port, out, tasks):
    """Runs lm_eval on `tasks` (names of YAML configs in `out`) against `elab serve
    --model MODEL`; results and samples go to out/lm-eval, lm_eval's log to out/lm-eval.log."""
    server = subprocess.Popen([elab, "serve", "--model", model, "--port", str(port), "--name", "m"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("elab serve did not answer /health")
        env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        args = (f"base_url=http://127.0.0.1:{port}/v1/completions,model=m,tokenizer_backend=remote,"
                "tokenized_requests=False,num_concurrent=1,max_retries=1")
        subprocess.run([sys.executable, "-m", "lm_eval", "--model", "local-completions", "--model_args", args,
                        "--tasks", ",".join(tasks), "--include_path", str(out), "--output_path", str(out / "lm-eval"),
                        "--log_samples"],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=open(out / "lm-eval.log", "w"))
    finally:
        server.terminate()
        server.wait()
