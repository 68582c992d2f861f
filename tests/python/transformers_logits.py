"""transformers' float32 logits for a checkpoint directory, optionally with a PEFT adapter.

    transformers_logits.py MODEL_DIR IDS_JSON [ADAPTER_DIR]

IDS_JSON is a list of equal-length id lists. Prints {"logits": [[[...]]]} (batch,
positions, vocab). With ADAPTER_DIR, peft.PeftModel.from_pretrained loads the adapter
onto the model first: the check that elab's adapters are PEFT's layout.
"""
import json
import sys

import torch
import transformers


def main():
    model_dir, ids = sys.argv[1], json.loads(sys.argv[2])
    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager")
    if len(sys.argv) > 3:
        import peft
        model = peft.PeftModel.from_pretrained(model, sys.argv[3])
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits.float()
    json.dump({"logits": logits.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
