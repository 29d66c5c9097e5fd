"""Error rates of a trained RAM checkpoint on a fixed split.

Its flags and code are in ``agents/evaluate_checkpoint.py``; ``--help`` lists every flag.
"""

from agents.evaluate_checkpoint import cli

if __name__ == "__main__":
    cli()
