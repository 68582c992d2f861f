"""Writes a randomly initialised Llama model of SmolLM2-135M's shape with transformers,
for bench/gpu-check.sh's CPU-against-GPU parity: save_pretrained's config.json and
model.safetensors, and elab's byte tokenizer (so the vocabulary is 260 tokens, not
SmolLM2's 49,152: the tokenizer is the one thing not carried to the GPU machine).

    gpu_random_model.py OUT_DIR TOKENIZER_JSON [LAYERS]
"""
import shutil
import sys

import torch
import transformers as tf


def main():
    out, tokenizer, layers = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30
    config = tf.LlamaConfig(vocab_size=260, hidden_size=576, intermediate_size=1536, num_hidden_layers=layers,
                            num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                            rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                            bos_token_id=256, eos_token_id=257, pad_token_id=258)
    torch.manual_seed(0)
    model = tf.LlamaForCausalLM(config).float()
    model.save_pretrained(out)
    shutil.copy(tokenizer, out + "/tokenizer.json")


if __name__ == "__main__":
    main()
