"""Train one of the paper's comparison models (FC or conv net) on a Glimpse env's whole canvases.

Its settings, loop and results are in ``agents/baselines/train.py``; ``--help`` lists every flag.
"""

from agents.commands import train_baseline

if __name__ == "__main__":
    train_baseline()
