"""A GIF of a trained RAM's glimpse trajectories on test images.

Its flags and code are in ``agents/render_checkpoint.py``; ``--help`` lists every flag.
"""

from agents.render_checkpoint import cli

if __name__ == "__main__":
    cli()
