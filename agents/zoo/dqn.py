"""RL Zoo hyperparameters of DQN on every Glimpse id:
``python -m rl_zoo3.train --algo dqn --conf-file agents.zoo.dqn ...``."""

from agents.zoo import hyperparams_for

hyperparams = hyperparams_for("dqn")
