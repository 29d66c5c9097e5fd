"""Stable-Baselines3 and RL Zoo agents for the Glimpse envs (the ``sb3`` extra)."""
