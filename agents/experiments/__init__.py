"""Runs over the agents: the paper's tables reproduced, and agents compared at one budget."""
