"""Train one of the paper's comparison models (FC or conv net) on a Glimpse env's whole canvases.

Its settings, loop and results are in ``agents/train_baseline.py``; ``--help`` lists every flag.
"""

from agents.train_baseline import cli

if __name__ == "__main__":
    cli()
