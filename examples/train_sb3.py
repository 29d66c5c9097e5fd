"""Train a Stable-Baselines3 algorithm on a Glimpse env; evaluate it on the fixed splits.

Its settings, loop and results are in ``agents/sb3/train.py``; ``--help`` lists every flag.
"""

from agents.commands import train_sb3

if __name__ == "__main__":
    train_sb3()
