"""Encodes each text of a JSON list with a tokenizer.json through Hugging Face tokenizers.
Usage: TOKENIZER_DIR TEXTS.json OUT.json    (OUT: {"ids": [[...], ...]}, no special tokens added)"""
import json
import sys

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
texts = json.load(open(sys.argv[2]))
json.dump({"ids": [tok.encode(t, add_special_tokens=False).ids for t in texts]}, open(sys.argv[3], "w"))
