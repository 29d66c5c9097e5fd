"""The trained models that ship with the package: the RAM of the paper's rows, ours, and Catch's.

    from agents import pretrained

    pretrained.names()                           # ['1a-ram2', ..., 'catch']
    model, card = pretrained.load("1a-ram2")     # a RecurrentAttentionModel and its card

The models and their loader live with the RAM (``agents.ram.pretrained``, which says what the
files hold); this module is their short name.
"""

from agents.ram.pretrained import card, load, names

__all__ = ["card", "load", "names"]
