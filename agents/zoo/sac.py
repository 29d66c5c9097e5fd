"""RL Zoo hyperparameters of SAC on every Glimpse id:
``python -m rl_zoo3.train --algo sac --conf-file agents.zoo.sac ...``."""

from agents.zoo import hyperparams_for

hyperparams = hyperparams_for("sac")
