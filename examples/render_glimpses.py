"""A GIF of a trained RAM's glimpse trajectories on test images.

Its flags and code are in ``agents/ram/render.py``; ``--help`` lists every flag.
"""

from agents.commands import render_glimpses

if __name__ == "__main__":
    render_glimpses()
