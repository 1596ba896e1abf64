"""The built-in example of ``ttc-fast demo``: a synthetic task, a training loop, and the end-to-end run."""
