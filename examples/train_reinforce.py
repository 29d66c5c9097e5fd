"""Train the Recurrent Attention Model (Mnih et al. 2014) with REINFORCE against a Glimpse env.

Its settings, loop and results are in
``agents/ram/train_reinforce.py``; ``--help`` lists every flag.
"""

from agents.commands import train_reinforce

if __name__ == "__main__":
    train_reinforce()
