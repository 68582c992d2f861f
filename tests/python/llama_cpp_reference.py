"""llama.cpp's logits and greedy continuations on a GGUF file (llama-cpp-python, CPU).

Usage: FILE.gguf OUT_DIR NEW_TOKENS [--bos] PROMPT...   (--bos: prompts start with BOS)
Writes OUT_DIR/reference.json {"prompts": [{"ids": prompt ids, "greedy": the next
NEW_TOKENS ids by argmax}]}, OUT_DIR/logits_<i>.f32, the float32 logits (positions x
vocabulary) llama.cpp computes for prompt i, teacher-forced, and greedy_logits_<i>.f32,
the logits it chose each greedy token from.
"""
import json
import pathlib
import sys

import numpy as np
import llama_cpp

path, out, new_tokens, prompts = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
bos = bool(prompts) and prompts[0] == "--bos"
prompts = prompts[1:] if bos else prompts
out.mkdir(parents=True, exist_ok=True)
llm = llama_cpp.Llama(model_path=path, n_ctx=1024, n_batch=1024, logits_all=True, n_threads=2, verbose=False, seed=0)
rows = []
for i, prompt in enumerate(prompts):
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=bos, special=True)
    llm.reset()
    llm.eval(ids)
    np.asarray(llm.scores[: len(ids)], dtype=np.float32).tofile(out / f"logits_{i}.f32")
    greedy, step_logits = [], []
    for _ in range(new_tokens):
        step_logits.append(np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float32))
        nxt = int(np.argmax(step_logits[-1]))
        greedy.append(nxt)
        if nxt == llm.token_eos():
            break
        llm.eval([nxt])
    np.stack(step_logits).tofile(out / f"greedy_logits_{i}.f32")
    rows.append({"ids": ids, "greedy": greedy})
json.dump({"prompts": rows, "vocab": llm.n_vocab()}, open(out / "reference.json", "w"))
