"""Writes a GGUF file of quantised blocks with gguf-py's own dequantisation beside them.

For each ggml type elab reads, tensor "<TYPE>" holds random blocks in that type's
layout and "<TYPE>.ref" the float32 values gguf.quants.dequantize gives for them. The
blocks are random bytes except their float16 scale fields, which are set to finite
values (random bits would make some of them infinities or NaN). Usage: OUT.gguf SEED
"""
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)

# type: byte offsets of its float16 fields within a block
scale_fields = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
writer = gguf.GGUFWriter(out, "elab-test")
rows, cols = 4, 512
for qtype, fields in scale_fields.items():
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rows * cols // block_size
    data = rng.integers(0, 256, size=(blocks, type_size), dtype=np.uint8)
    for off in fields:
        halves = rng.uniform(-2.0, 2.0, size=blocks).astype(np.float16)
        data[:, off:off + 2] = halves.view(np.uint8).reshape(blocks, 2)
    data = data.reshape(rows, cols // block_size * type_size)
    writer.add_tensor(qtype.name, data, raw_dtype=qtype)
    ref = gguf.quants.dequantize(data, qtype).astype(np.float32)
    writer.add_tensor(qtype.name + ".ref", ref)

values = rng.normal(0, 3, size=(rows, cols)).astype(np.float32)
values[0, :4] = [0.0, -0.0, 6.1e-5, 1e-7]  # zero, negative zero, a normal and a subnormal half
writer.add_tensor("F16", values.astype(np.float16), raw_dtype=Q.F16)
writer.add_tensor("F16.ref", values.astype(np.float16).astype(np.float32))
bf16 = gguf.quants.quantize(values, Q.BF16)
writer.add_tensor("BF16", bf16, raw_dtype=Q.BF16)
writer.add_tensor("BF16.ref", gguf.quants.dequantize(bf16, Q.BF16).astype(np.float32))
writer.add_tensor("F32", values)
writer.add_tensor("F32.ref", values)
q8 = gguf.quants.quantize(values, Q.Q8_0)  # llama.cpp's reference quantiser, for elab's own
writer.add_tensor("Q8_0.from_f32", q8, raw_dtype=Q.Q8_0)
writer.add_tensor("Q8_0.source", values)

writer.add_string("test.string", "héllo")
writer.add_array("test.strings", ["a", "", "ü"])
writer.add_uint64("test.u64", 1 << 40)
writer.add_int8("test.i8", -5)
writer.add_float64("test.f64", 0.125)
writer.add_bool("test.bool", True)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
