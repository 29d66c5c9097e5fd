"""Train a Stable-Baselines3 algorithm on a Glimpse env; evaluate it on the fixed splits.

Its settings, loop and results are in ``agents/train_sb3.py``; ``--help`` lists every flag.
"""

from agents.train_sb3 import cli

if __name__ == "__main__":
    cli()
