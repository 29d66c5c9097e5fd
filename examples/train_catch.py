"""Train the Recurrent Attention Model to play Catch (GlimpseCatch-v0) from the reward alone.

Its settings, loop and results are in ``agents/ram/train_catch.py``; ``--help`` lists every flag.
"""

from agents.ram.train_catch import cli

if __name__ == "__main__":
    cli()
