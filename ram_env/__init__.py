"""ram_env: the Recurrent Attention Model's task (Mnih et al. 2014) as Gymnasium environments.

Importing the package registers one id per task of the paper (the four image-classification
tasks, ``ENV_IDS``, and the game of Catch, ``CATCH_ENV_IDS``), each with the paper's retina and
number of glimpses; every argument of :class:`ram_env.env.GlimpseEnv` can be overridden through
``gym.make(id, **kwargs)``. ``gym.make("ram_env:<id>")`` works without importing first.
"""

from gymnasium.envs.registration import register

from ram_env.classification import GlimpseConfig
from ram_env.env import GlimpseEnv
from ram_env.sensor import GlimpseSensor, extract_glimpses
from ram_env.vector import GlimpseVectorEnv

__all__ = [
    "CATCH_ENV_IDS",
    "ENV_IDS",
    "GlimpseConfig",
    "GlimpseEnv",
    "GlimpseSensor",
    "GlimpseVectorEnv",
    "extract_glimpses",
]
__version__ = "0.2.0"

ENTRY_POINT = "ram_env.env:GlimpseEnv"
VECTOR_ENTRY_POINT = "ram_env.vector:GlimpseVectorEnv"

# 28x28 MNIST, 8x8 retina with one scale, 6 glimpses (paper Table 1a).
register(
    id="GlimpseMNIST-v0",
    entry_point=ENTRY_POINT,
    vector_entry_point=VECTOR_ENTRY_POINT,
    kwargs={"task": "mnist", "glimpse_size": 8, "num_scales": 1, "num_glimpses": 6},
)

# 60x60 translated MNIST, 12x12 retina with 3 scales, 8 glimpses (paper Table 1b).
register(
    id="GlimpseMNIST-Translated60-v0",
    entry_point=ENTRY_POINT,
    vector_entry_point=VECTOR_ENTRY_POINT,
    kwargs={
        "task": "translated",
        "canvas_size": 60,
        "glimpse_size": 12,
        "num_scales": 3,
        "num_glimpses": 8,
    },
)

# 60x60 cluttered translated MNIST, 4 pieces of 8x8 clutter, 12x12x3 retina, 8 glimpses (Table 2a).
register(
    id="GlimpseMNIST-Cluttered60-v0",
    entry_point=ENTRY_POINT,
    vector_entry_point=VECTOR_ENTRY_POINT,
    kwargs={
        "task": "cluttered",
        "canvas_size": 60,
        "num_clutter": 4,
        "glimpse_size": 12,
        "num_scales": 3,
        "num_glimpses": 8,
    },
)

# 100x100 cluttered translated MNIST, 8 pieces of clutter, 12x12 retina with 4 scales (Table 2b).
register(
    id="GlimpseMNIST-Cluttered100-v0",
    entry_point=ENTRY_POINT,
    vector_entry_point=VECTOR_ENTRY_POINT,
    kwargs={
        "task": "cluttered",
        "canvas_size": 100,
        "num_clutter": 8,
        "glimpse_size": 12,
        "num_scales": 4,
        "num_glimpses": 8,
    },
)

# The paper's dynamic environment: Catch on a 24x24 screen, 6x6 retina with 3 scales (section 4.2).
register(
    id="GlimpseCatch-v0",
    entry_point="ram_env.catch:GlimpseCatchEnv",
    vector_entry_point="ram_env.catch:GlimpseCatchVectorEnv",
)

# The image-classification ids (one per task of the paper) and the game ids.
ENV_IDS = (
    "GlimpseMNIST-v0",
    "GlimpseMNIST-Translated60-v0",
    "GlimpseMNIST-Cluttered60-v0",
    "GlimpseMNIST-Cluttered100-v0",
)
CATCH_ENV_IDS = ("GlimpseCatch-v0",)
