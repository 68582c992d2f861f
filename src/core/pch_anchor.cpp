// Owns the precompiled <torch/torch.h> that the torch-heavy modules reuse.
