"""Tokenizer parity fixtures: tokenizer.json files of each family's shape, and the ids
Hugging Face `tokenizers` (and, for the SmolLM2 GGUF, llama.cpp) give for a corpus.

Usage: OUT_DIR DATA_DIR SMOLLM2_GGUF
Writes OUT_DIR/corpus.json (the texts) and, per family, OUT_DIR/<family>/tokenizer.json,
tokenizer_config.json and expected.json {"plain": ids without specials, "special": with
the post-processor's BOS/EOS, "decoded": decode(plain)}. The families' vocabularies are
trained here on GSM8K's training questions (tokenizers' own BPE trainer), with each
family's normaliser, pre-tokeniser, decoder and post-processor as its published
tokenizer.json has them; "smollm2" is SmolLM2's real vocabulary and merges, taken from
the GGUF file. OUT_DIR/gguf-smollm2.json holds llama.cpp's ids for the GGUF's own
tokenizer (llama-cpp-python, vocab only, special tokens parsed).
"""
import json
import os
import pathlib
import sys

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers, Regex

out, data, gguf_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
out.mkdir(parents=True, exist_ok=True)

# ---- the corpus: GSM8K and BBH texts, non-ASCII text, whitespace edge cases ----
corpus = []
with open(data / "gsm8k" / "test.jsonl") as f:
    for i, line in enumerate(f):
        if i >= 150:
            break
        row = json.loads(line)
        corpus += [row["question"], row["answer"]]
for task in sorted((data / "bbh" / "tasks").glob("*.json")):
    examples = json.load(open(task))["examples"][:4]
    corpus += [e["input"] for e in examples]
for prompt in sorted((data / "bbh" / "cot-prompts").glob("*.txt"))[:6]:
    corpus.append(prompt.read_text())
corpus += [
    "", " ", "  ", "\n", "\n\n\n", "\t", " \t x", "Hello  world", "trailing   ", "   leading", "a\r\nb\rc",
    "naïve café résumé", "Ünïcödé with combining e\u0301 and NFC é", "日本語のテキストです。", "中文，标点！",
    "emoji 🤖👍🏽 and 👨‍👩‍👧 family", "\u00a0non-breaking\u00a0spaces\u2003em", "مرحبا بالعالم", "Ελληνικά κείμενα",
    "1234567 + 89 = 1234656", "3.14159 and 1,000,000 and ½ ² ٣", "don't I'll we've they're it's SHE'S",
    "  \n  \n\t\n", "x" * 300, "ab" * 100, "$12.50/hour × 3½ hours", "`code` {braces} [brackets] <angle>",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", "before<|endoftext|>after", "<s> and </s> inside",
]
json.dump(corpus, open(out / "corpus.json", "w"), ensure_ascii=False)

train_texts = []
with open(data / "gsm8k" / "train.jsonl") as f:
    for i, line in enumerate(f):
        if i >= 3000:
            break
        row = json.loads(line)
        train_texts += [row["question"], row["answer"]]
train_texts += corpus[-30:] * 3

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def byte_level(name, pre, specials, normalizer=None, bos=None, ignore_merges=False, config=None):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(train_texts, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    save(name, tok, config or {})


def sentencepiece(name, prepend, bos, specials, config):
    tok = Tokenizer(models.BPE(byte_fallback=True, fuse_unk=True, unk_token="<unk>"))
    steps = ([normalizers.Prepend("▁")] if prepend else []) + [normalizers.Replace(" ", "▁")]
    tok.normalizer = normalizers.Sequence(steps)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()] +
                                    ([decoders.Strip(" ", 1, 0)] if prepend else []))
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=specials, show_progress=False,
                                  limit_alphabet=200)
    tok.train_from_iterator(train_texts, trainer)
    # byte-fallback tokens <0x00>..<0xFF> after the trained vocabulary, as SentencePiece models have them
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    tok = Tokenizer.from_str(json.dumps(j))
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    save(name, tok, config)


def save(name, tok, config):
    d = out / name
    d.mkdir(exist_ok=True)
    tok.save(str(d / "tokenizer.json"))
    json.dump(config, open(d / "tokenizer_config.json", "w"))
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    plain = [tok.encode(t, add_special_tokens=False).ids for t in corpus]
    special = [tok.encode(t, add_special_tokens=True).ids for t in corpus]
    decoded = [tok.decode(ids) for ids in plain]
    json.dump({"plain": plain, "special": special, "decoded": decoded}, open(d / "expected.json", "w"), ensure_ascii=False)


chat = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
byte_level("gpt2", pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), ["<|endoftext|>"],
           config={"eos_token": "<|endoftext|>"})
byte_level("pythia", pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), ["<|endoftext|>", "<|padding|>"],
           config={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"})
byte_level("smollm", pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                              pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]), chat,
           config={"eos_token": "<|im_end|>", "pad_token": "<|im_end|>"})
byte_level("llama3", pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3), "isolated"),
                                              pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
           ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], bos="<|begin_of_text|>", ignore_merges=True,
           config={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
byte_level("qwen2", pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), "isolated"),
                                             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), chat,
           normalizer=normalizers.NFC(), config={"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
sentencepiece("llama2", True, "<s>", ["<unk>", "<s>", "</s>"], {"bos_token": "<s>", "eos_token": "</s>"})
sentencepiece("gemma", False, "<bos>", ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"],
              {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"})

# ---- SmolLM2's real vocabulary (from the GGUF file) under its published pre-tokeniser ----
import gguf  # noqa: E402

reader = gguf.GGUFReader(gguf_path)
def field(key):
    return reader.fields[key].contents()
tokens, merges, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.merges"), field("tokenizer.ggml.token_type")
tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=[tuple(m.split(" ", 1)) for m in merges]))
tok.add_special_tokens([t for t, ty in zip(tokens, types) if ty == 3])
tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
tok.decoder = decoders.ByteLevel()
tok.post_processor = processors.ByteLevel(trim_offsets=False)
save("smollm2", tok, {"eos_token": "<|im_end|>", "bos_token": "<|im_start|>", "pad_token": "<|im_end|>"})

# ---- llama.cpp's own tokenisation of the GGUF file ----
import llama_cpp  # noqa: E402

llm = llama_cpp.Llama(model_path=gguf_path, vocab_only=True, verbose=False)
ids = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) for t in corpus]
json.dump({"ids": ids}, open(out / "gguf-smollm2.json", "w"))
