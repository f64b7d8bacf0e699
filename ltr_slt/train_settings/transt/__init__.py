"""Frame-level (pair-wise) TransT training: ``transt`` (official recipe) and ``transt_tiny`` (CPU, synthetic)."""
