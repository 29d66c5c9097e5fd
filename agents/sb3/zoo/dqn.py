"""RL Zoo hyperparameters of DQN on every Glimpse id:
``python -m rl_zoo3.train --algo dqn --conf-file agents.sb3.zoo.dqn ...``."""

from agents.sb3.zoo import hyperparams_for

hyperparams = hyperparams_for("dqn")
