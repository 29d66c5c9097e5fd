"""Reproduce one of the paper's result tables (Mnih et al. 2014, NIPS version): train every row.

Its settings, loop and results are in
``agents/experiments/reproduce_paper.py``; ``--help`` lists every flag.
"""

from agents.commands import reproduce_paper

if __name__ == "__main__":
    reproduce_paper()
