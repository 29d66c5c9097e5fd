"""Train the Recurrent Attention Model to play Catch (GlimpseCatch-v0) from the reward alone.

Its settings, loop and results are in ``agents/ram/train_catch.py``; ``--help`` lists every flag.
"""

from agents.commands import train_catch

if __name__ == "__main__":
    train_catch()
