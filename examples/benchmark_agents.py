"""Train several agents on one Glimpse env with the same budget of env steps; write a table.

Its settings, loop and results are in
``agents/experiments/benchmark_agents.py``; ``--help`` lists every flag.
"""

from agents.commands import benchmark_agents

if __name__ == "__main__":
    benchmark_agents()
