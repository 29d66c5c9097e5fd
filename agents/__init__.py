"""Learning agents for the ram_env environments (PyTorch)."""
