"""Error rates of a trained RAM checkpoint on a fixed split.

Its flags and code are in ``agents/ram/evaluate.py``; ``--help`` lists every flag.
"""

from agents.ram.evaluate import cli

if __name__ == "__main__":
    cli()
