"""RL Zoo hyperparameters of RecurrentPPO on every Glimpse id:
``python -m rl_zoo3.train --algo ppo_lstm --conf-file agents.sb3.zoo.ppo_lstm ...``."""

from agents.sb3.zoo import hyperparams_for

hyperparams = hyperparams_for("ppo_lstm")
