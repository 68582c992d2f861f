"""Evaluation throughput of an OpenAI-compatible completions server, in items per
second, on 4-shot GSM8K prompts: the same client, prompts and decoding against
`elab serve` and against llama.cpp's `llama-server` with parallel slots.

    eval_throughput.py URL DATA_DIR [N_ITEMS CONCURRENCY MAX_TOKENS]

The prompts are the first N_ITEMS GSM8K test questions, each after the first four
training problems with their worked answers ("Question: ...\\nAnswer: ...\\n\\n"), as
elab's cot:4 method builds them. Greedy (temperature 0), at most MAX_TOKENS tokens, a
stop at the next "\\n\\nQuestion:"; CONCURRENCY requests in flight at once. Prints one
line: items/s, completion tokens/s, and the mean completion length (a server that stops
earlier does less work, so the lengths are printed for the comparison).
"""
import concurrent.futures
import json
import pathlib
import sys
import time
import urllib.request


def prompts(data_dir, n):
    root = pathlib.Path(data_dir) / "gsm8k"
    train = [json.loads(line) for line in open(root / "train.jsonl")][:4]
    test = [json.loads(line) for line in open(root / "test.jsonl")][:n]
    shots = "".join(f"Question: {t['question']}\nAnswer: {t['answer']}\n\n" for t in train)
    return [f"{shots}Question: {t['question']}\nAnswer:" for t in test]


def complete(url, prompt, max_tokens):
    body = json.dumps({"model": "m", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                       "stop": ["\n\nQuestion:"]}).encode()
    req = urllib.request.Request(url.rstrip("/") + "/v1/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        reply = json.load(r)
    return reply["usage"]["completion_tokens"]


def main():
    url, data = sys.argv[1], sys.argv[2]
    n, concurrency, max_tokens = (int(a) for a in (sys.argv[3:6] if len(sys.argv) >= 6 else (32, 8, 128)))
    texts = prompts(data, n)
    complete(url, texts[0], 4)  # warm-up
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        lengths = list(pool.map(lambda p: complete(url, p, max_tokens), texts))
    seconds = time.perf_counter() - t0
    print(f"eval_throughput url={url} items={n} concurrency={concurrency} max_tokens={max_tokens} "
          f"seconds={seconds:.1f} items_per_s={n / seconds:.3f} completion_tokens_per_s={sum(lengths) / seconds:.1f} "
          f"mean_completion_tokens={sum(lengths) / n:.1f}")


if __name__ == "__main__":
    main()
