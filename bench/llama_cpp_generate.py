"""llama.cpp's prefill and batch-1 decode rates on a GGUF file (llama-cpp-python), measured
the way `elab bench generate --model` measures elab's: a prompt of PROMPT_LEN tokens
(" d" digit pairs), then NEW_TOKENS tokens decoded one at a time by argmax, EOS ignored,
repeated for at least three seconds.

Usage: FILE.gguf THREADS PROMPT_LEN NEW_TOKENS
"""
import random
import sys
import time

import numpy as np
import llama_cpp

path, threads, prompt_len, new_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
llm = llama_cpp.Llama(model_path=path, n_ctx=prompt_len + new_tokens + 8, n_batch=512, n_threads=threads,
                      n_threads_batch=threads, verbose=False, seed=0)
rng = random.Random(1)
text = "".join(f" {rng.randint(0, 9)}" for _ in range(prompt_len))[:prompt_len]
ids = llm.tokenize(text.encode(), add_bos=False, special=False)
assert len(ids) == prompt_len, len(ids)

llm.reset()
llm.eval(ids[:8])  # warm-up
prefill = decode = 0.0
runs = 0
start = time.perf_counter()
while time.perf_counter() - start < 3.0 or runs == 0:
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    for _ in range(new_tokens):
        llm.eval([nxt])
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    t2 = time.perf_counter()
    prefill += t1 - t0
    decode += t2 - t1
    runs += 1
print(f"llama.cpp threads={threads} prompt_len={prompt_len} new_tokens={new_tokens} runs={runs} "
      f"prefill_tokens_per_s={prompt_len * runs / prefill:.0f} tokens_per_s={new_tokens * runs / decode:.1f}")
