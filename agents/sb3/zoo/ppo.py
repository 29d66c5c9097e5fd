"""RL Zoo hyperparameters of PPO on every Glimpse id:
``python -m rl_zoo3.train --algo ppo --conf-file agents.sb3.zoo.ppo ...``."""

from agents.sb3.zoo import hyperparams_for

hyperparams = hyperparams_for("ppo")
