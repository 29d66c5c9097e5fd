"""A GIF of a trained RAM's glimpse trajectories on test images.

Its flags and code are in ``agents/ram/render.py``; ``--help`` lists every flag.
"""

from agents.ram.render import cli

if __name__ == "__main__":
    cli()
