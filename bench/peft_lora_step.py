"""A LoRA training step in PEFT + transformers, measured as `elab bench finetune
--model FILE --method lora` measures elab's, for a side-by-side figure.

    peft_lora_step.py MODEL.gguf THREADS [BATCH SEQ_LEN STEPS]

transformers dequantises the GGUF file to float32 (its gguf_file loader), PEFT adds
LoRA with elab's defaults (rank 8, alpha 16, q_proj and v_proj, no dropout), and AdamW
(lr 1e-4, no weight decay) steps on batches of uniform random tokens, every target
counted, after 2 warm-up steps. Prints one line as elab's bench does.
"""
import os
import resource
import sys
import time

import torch
import transformers
import peft


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    batch, seq_len, steps = (int(a) for a in (sys.argv[3:6] if len(sys.argv) >= 6 else (8, 64, 5)))
    torch.set_num_threads(threads)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), dtype=torch.float32, attn_implementation="sdpa")
    config = peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
    model = peft.get_peft_model(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(1)
    total = 0.0
    for i in range(2 + steps):
        tokens = torch.randint(0, vocab, (batch, seq_len + 1), generator=g)
        t0 = time.perf_counter()
        logits = model(tokens[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i >= 2:
            total += time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peft lora torch={torch.__version__} threads={threads} batch={batch} seq_len={seq_len} steps={steps} "
          f"trainable={sum(p.numel() for p in trainable)} step_ms={1000 * total / steps:.1f} "
          f"tokens_per_s={steps * batch * seq_len / total:.0f} peak_rss_mb={rss:.1f}")


if __name__ == "__main__":
    main()
