"""RL Zoo hyperparameters of SAC on every Glimpse id:
``python -m rl_zoo3.train --algo sac --conf-file agents.sb3.zoo.sac ...``."""

from agents.sb3.zoo import hyperparams_for

hyperparams = hyperparams_for("sac")
