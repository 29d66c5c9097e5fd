"""RL Zoo hyperparameters of A2C on every Glimpse id:
``python -m rl_zoo3.train --algo a2c --conf-file agents.sb3.zoo.a2c ...``."""

from agents.sb3.zoo import hyperparams_for

hyperparams = hyperparams_for("a2c")
