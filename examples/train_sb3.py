"""Train a Stable-Baselines3 algorithm on a Glimpse env; evaluate it on the fixed splits.

Its settings, loop and results are in ``agents/sb3/train.py``; ``--help`` lists every flag.
"""

from agents.sb3.train import cli

if __name__ == "__main__":
    cli()
