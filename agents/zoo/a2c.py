"""RL Zoo hyperparameters of A2C on every Glimpse id:
``python -m rl_zoo3.train --algo a2c --conf-file agents.zoo.a2c ...``."""

from agents.zoo import hyperparams_for

hyperparams = hyperparams_for("a2c")
