"""Error rates of a trained RAM checkpoint on a fixed split.

Its flags and code are in ``agents/ram/evaluate.py``; ``--help`` lists every flag.
"""

from agents.commands import evaluate

if __name__ == "__main__":
    evaluate()
