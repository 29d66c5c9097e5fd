"""The Recurrent Attention Model (Mnih et al. 2014) as a PyTorch module.

    glimpse network  h_g = ReLU(W_g rho),  h_l = ReLU(W_l l),  g = ReLU(A h_g + B h_l)
    core network     h_t = ReLU(W_h h_{t-1} + W_x g_t)         (or an LSTM cell)
    location network l_{t+1} ~ N(tanh(W_loc h_t), std^2)       (std set by the trainer)
    first location   l_1 ~ N(tanh(W_loc 0), std^2)              (if learned: W_loc's bias)
    action network   p(class) = softmax(W_a h_T)
    baseline         b_t = W_b h_t                             (on a detached h_t by default)

rho is the glimpse as the sensor gives it, each patch multiplied by ``glimpse_gains`` if set.

Gradient paths, as the paper's hybrid training needs them:
- the location network learns only from REINFORCE; by default it sees ``h_t.detach()``, so
  REINFORCE does not reach the core through it. With ``reinforce_core_weight`` w > 0 the
  REINFORCE gradient also reaches the core and glimpse networks, multiplied by w, as in the
  paper's general policy gradient over all parameters (w = 1);
- sampled locations are detached before they enter the next glimpse, so the classification
  loss cannot reach the location network through them;
- the baseline sees ``h_t.detach()``: its regression loss does not train the core. With
  ``baseline_core_weight`` v > 0 it does, multiplied by v: for tasks with no supervised term
  (Catch), where predicting the reward is the core's only dense signal (as an actor-critic's
  shared value loss is); never for the paper's hybrid classification training.

The first glimpse's location is the environment's start, or, with ``learned_first_location``,
the location policy applied to the zero initial state h_0 (in effect a learned bias plus the
Gaussian noise, as in the Torch reproduction of the paper), trained by REINFORCE with the
baseline b_0 of that zero state, and passed to the environment's ``reset``.

The model is generic over the retina (k, C, g), the number of glimpses and of classes: it takes
them from the environment's observation and action spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Normal


@dataclass
class RAMConfig:
    """Sizes and switches of the Recurrent Attention Model. The sizes default to the paper's;
    the switches (gradient weights, first location, core init) default to off, and each trainer
    sets them from its own settings (agents.ram.train_reinforce.Config: the paper's training)."""

    glimpse_hidden: int = 128
    """Units of h_g, the glimpse's own features."""
    location_hidden: int = 128
    """Units of h_l, the features of where the glimpse was taken."""
    glimpse_features: int = 256
    """Units of g, the combined glimpse representation."""
    core_size: int = 256
    """Units of the recurrent state h_t."""
    core: str = "rnn"
    """Core network: "rnn" (ReLU RNN, the paper's) or "lstm"."""
    location_std: float = 0.1
    """Standard deviation of the Gaussian location policy, in [-1, 1] units, as the model is
    built (``RecurrentAttentionModel.location_std`` is the current one)."""
    reinforce_core_weight: float = 0.0
    """Weight of the location policy's REINFORCE gradient where it enters the core (and from
    there the glimpse network), so they also learn features for where to look; 0: it does not
    enter, the core learns from the class only."""
    baseline_core_weight: float = 0.0
    """Weight of the baseline's regression gradient where it enters the core (and from there
    the glimpse network); 0: the baseline sees a detached state, as the paper's hybrid training
    needs. For pure RL without a supervised term (Catch) it gives the core a dense signal."""
    random_locations: bool = False
    """No location policy: l_2 .. l_T are uniformly random in [-1, 1]^2 (the paper's "random
    glimpses" row; see ``agents.ram.reinforce.play``). The location network is then unused."""
    learned_first_location: bool = False
    """The first glimpse's location comes from the location policy at the zero state h_0
    (learned by REINFORCE) instead of from the environment's start."""
    identity_init: bool = False
    """Initialise the ReLU RNN core's recurrent weights to the identity (and their bias to 0),
    which keeps h_t from vanishing or exploding early on (Le et al. 2015); RNN core only."""
    glimpse_gains: tuple[float, ...] | None = None
    """Multipliers of the glimpse's scales (one per patch, finest first) before the glimpse
    network; None: the patches as the sensor gives them, means of the pooled pixels. Catch's
    one-pixel ball is 1/16 bright in the 24-pixel patch; gains (1, 4, 16) make the patches
    sums, the ball as bright in every patch."""


class RecurrentAttentionModel(nn.Module):
    """The RAM: one call of :meth:`step` per glimpse; see the module docstring."""

    def __init__(self, glimpse_shape: tuple[int, ...], num_classes: int, config: RAMConfig):
        super().__init__()
        if config.core not in ("rnn", "lstm"):
            raise ValueError(f"core must be 'rnn' or 'lstm', got {config.core!r}")
        if config.location_std <= 0:
            raise ValueError(f"location_std must be > 0, got {config.location_std}")
        if not config.reinforce_core_weight >= 0:
            raise ValueError(
                f"reinforce_core_weight must be >= 0, got {config.reinforce_core_weight}"
            )
        if not config.baseline_core_weight >= 0:
            raise ValueError(
                f"baseline_core_weight must be >= 0, got {config.baseline_core_weight}"
            )
        if config.learned_first_location and config.random_locations:
            raise ValueError("random_locations has no location policy to learn a first location")
        if config.identity_init and config.core != "rnn":
            raise ValueError(f"identity_init is for the 'rnn' core, got core {config.core!r}")
        gains = config.glimpse_gains
        if gains is not None and (
            len(gains) != glimpse_shape[0] or not all(0 < gain < float("inf") for gain in gains)
        ):
            raise ValueError(
                f"glimpse_gains must be {glimpse_shape[0]} positive numbers, one per patch, "
                f"got {gains!r}"
            )
        self.config = config
        self.location_std = config.location_std
        """The location policy's std now: the config's, unless a training schedule lowered it
        (saved with the model, agents.ram.checkpoints)."""
        self.glimpse_shape = tuple(glimpse_shape)
        self.num_classes = num_classes
        glimpse_size = int(torch.tensor(glimpse_shape).prod())
        self.glimpse_in = nn.Linear(glimpse_size, config.glimpse_hidden)
        self.location_in = nn.Linear(2, config.location_hidden)
        # g = ReLU(A h_g + B h_l) as one layer on [h_g, h_l]: the same function, one matmul.
        self.combine = nn.Linear(
            config.glimpse_hidden + config.location_hidden, config.glimpse_features
        )
        if config.core == "rnn":
            self.core = nn.RNNCell(config.glimpse_features, config.core_size, nonlinearity="relu")
        else:
            self.core = nn.LSTMCell(config.glimpse_features, config.core_size)
        self.locator = nn.Linear(config.core_size, 2)
        self.classifier = nn.Linear(config.core_size, num_classes)
        self.baseline = nn.Linear(config.core_size, 1)
        if config.identity_init:
            nn.init.eye_(self.core.weight_hh)
            nn.init.zeros_(self.core.bias_hh)
        # Not saved with the weights: the config rebuilds it.
        gains = torch.ones(glimpse_shape[0]) if gains is None else torch.tensor(gains)
        self.register_buffer("glimpse_gains", gains.float().view(-1, 1, 1), persistent=False)

    def initial_state(self, batch: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        zeros = self.initial_hidden(batch)
        return zeros if self.config.core == "rnn" else (zeros, zeros.clone())

    def initial_hidden(self, batch: int) -> torch.Tensor:
        """h_0, the zero state: what the first location policy and its baseline b_0 see."""
        return torch.zeros(batch, self.config.core_size, device=self.device)

    @property
    def device(self) -> torch.device:
        """Where the model's parameters are."""
        return self.locator.weight.device

    def step(self, glimpse: torch.Tensor, location: torch.Tensor, state):
        """Take in one glimpse and where it was taken; returns (new state, h_t)."""
        if self.config.glimpse_gains is not None:
            glimpse = glimpse * self.glimpse_gains
        h_g = torch.relu(self.glimpse_in(glimpse.flatten(1)))
        h_l = torch.relu(self.location_in(location.detach()))
        g = torch.relu(self.combine(torch.cat([h_g, h_l], dim=1)))
        state = self.core(g, state)
        hidden = state if self.config.core == "rnn" else state[0]
        return state, hidden

    def location_policy(self, hidden: torch.Tensor) -> Normal:
        """The distribution of the next location; trained by REINFORCE only."""
        hidden = _scale_gradient(hidden, self.config.reinforce_core_weight)
        mean = torch.tanh(self.locator(hidden)).float()  # float32 also under bf16 autocast
        # validate_args=False: the argument checks cost more than the rest of the step.
        return Normal(mean, self.location_std, validate_args=False)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        """Class logits from the last state."""
        return self.classifier(hidden).float()

    def value(self, hidden: torch.Tensor) -> torch.Tensor:
        """The baseline b_t, from a detached state unless ``baseline_core_weight`` > 0."""
        hidden = _scale_gradient(hidden, self.config.baseline_core_weight)
        return self.baseline(hidden).squeeze(-1).float()


def _scale_gradient(tensor: torch.Tensor, weight: float) -> torch.Tensor:
    """``tensor`` in the forward pass; its gradient multiplied by ``weight`` in the backward."""
    if weight == 0:
        return tensor.detach()
    if weight == 1:
        return tensor
    return tensor * weight + tensor.detach() * (1 - weight)
