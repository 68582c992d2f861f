"""Prints, for each named tensor of a GGUF file, its first 2048 values as gguf-py
dequantises them: "NAME COUNT v0 v1 ...". Usage: FILE.gguf NAME..."""
import sys

import numpy as np
import gguf

reader = gguf.GGUFReader(sys.argv[1])
tensors = {t.name: t for t in reader.tensors}
for name in sys.argv[2:]:
    t = tensors[name]
    values = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(-1)[:2048]
    print(name, len(values), " ".join(repr(float(v)) for v in values))
