"""llama.cpp's token ids for each text of a corpus, from a GGUF file's own tokenizer.

    llama_cpp_tokenize.py FILE.gguf CORPUS.json OUT.json

CORPUS.json is a list of texts; OUT.json gets {"ids": [[...], ...]}, special tokens
parsed, no BOS added (elab adds BOS by the model's flag, separately).
"""
import json
import sys

import llama_cpp

path, corpus, out = sys.argv[1:4]
llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
texts = json.load(open(corpus))
json.dump({"ids": [llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) for t in texts]}, open(out, "w"))
