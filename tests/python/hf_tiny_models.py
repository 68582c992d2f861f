"""Builds tiny random-initialised Hugging Face models, one per family elab reads, saves
each with save_pretrained, and records transformers' own float32 logits on fixed ids.

    hf_tiny_models.py OUT_DIR [FAMILY ...]

Writes OUT_DIR/FAMILY/ (config.json, *.safetensors, and an index when sharded) and
OUT_DIR/FAMILY/reference.json: {"ids": [[...]], "logits": [[[...]]]}, logits of shape
(batch, positions, vocab). The sizes are small but keep every feature switched on:
grouped-query attention, RoPE scaling, biases, q/k norms, sliding windows shorter than
the sequence, partial rotary dimensions, untied and tied output layers.
"""
import json
import os
import sys

import torch
import transformers as tf

VOCAB = 96


def common(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    base.update(kw)
    return base


def families():
    return {
        # Llama 3: grouped-query attention, llama3 RoPE scaling, untied output layer.
        "llama": (tf.LlamaConfig, tf.LlamaForCausalLM, common(
            rope_theta=500000.0, tie_word_embeddings=False,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
        # SmolLM / Llama 2 shapes: tied embeddings, linear RoPE scaling.
        "llama-tied-linear": (tf.LlamaConfig, tf.LlamaForCausalLM, common(
            tie_word_embeddings=True, num_key_value_heads=4,
            rope_scaling={"rope_type": "linear", "factor": 2.0})),
        # Mistral: a sliding window shorter than the test sequence.
        "mistral": (tf.MistralConfig, tf.MistralForCausalLM, common(sliding_window=8, head_dim=16)),
        # Qwen2/2.5: q, k, v biases.
        "qwen2": (tf.Qwen2Config, tf.Qwen2ForCausalLM, common(tie_word_embeddings=True, rope_theta=1000000.0)),
        # The same saved in bfloat16 (reference logits: the bf16 weights in float32).
        "qwen2-bf16": (tf.Qwen2Config, tf.Qwen2ForCausalLM, common(tie_word_embeddings=False)),
        # Qwen3: q/k RMSNorms, head_dim not hidden/heads.
        "qwen3": (tf.Qwen3Config, tf.Qwen3ForCausalLM, common(head_dim=32, tie_word_embeddings=True)),
        # Gemma 3: (1 + w) norms, sandwich norms, GeGLU, embedding scale, q/k norms,
        # sliding and global layers with their own RoPE bases, query_pre_attn_scalar.
        "gemma3": (tf.Gemma3TextConfig, tf.Gemma3ForCausalLM, common(
            num_hidden_layers=4, head_dim=32, num_key_value_heads=1, sliding_window=6,
            layer_types=["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
            query_pre_attn_scalar=24, rope_theta=1000000.0, rope_local_base_freq=10000.0)),
        # GPT-NeoX (Pythia): parallel attention and MLP, LayerNorm with biases, fused
        # q/k/v, partial rotary, untied output.
        "gpt_neox": (tf.GPTNeoXConfig, tf.GPTNeoXForCausalLM, dict(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
            num_attention_heads=4, max_position_embeddings=128, rotary_pct=0.25,
            use_parallel_residual=True, tie_word_embeddings=False)),
        # Phi-3: q, k, v fused in one projection and gate, up in another; a sliding window
        # shorter than the test sequence; grouped-query attention.
        "phi3": (tf.Phi3Config, tf.Phi3ForCausalLM, common(sliding_window=8, tie_word_embeddings=False,
                                                           pad_token_id=0, bos_token_id=1, eos_token_id=2)),
    }


def randomise(model, seed):
    # Norm weights and biases start at constants; random values make every one of them
    # matter to the logits.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 if p.dim() < 2 else 0.08))


def main():
    out, wanted = sys.argv[1], sys.argv[2:]
    table = families()
    for name in wanted or table:
        config_class, model_class, kw = table[name]
        config = config_class(**kw)
        config._attn_implementation = "eager"
        torch.manual_seed(0)
        model = model_class(config).eval()
        randomise(model, 1234)
        d = os.path.join(out, name)
        if name.endswith("-bf16"):
            model = model.to(torch.bfloat16)
        # Shard the larger ones, so the index path is read too.
        model.save_pretrained(d, max_shard_size="100KB" if name in ("llama", "gpt_neox") else "50GB")
        model = model.float()
        g = torch.Generator().manual_seed(7)
        ids = torch.randint(0, VOCAB, (2, 20), generator=g)
        with torch.no_grad():
            logits = model(ids).logits.float()
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump({"ids": ids.tolist(), "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
