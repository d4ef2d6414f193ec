"""The one random-number generator behind parameter initialisation and dropout.

    fastconv.manual_seed(0)      # the same initial weights and dropout masks, run after run

Until manual_seed is called the generator is seeded from the operating system's entropy
(numpy.random.default_rng()), so unseeded programs differ from run to run.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the shared generator with `seed` (a non-negative int) and return it."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The shared numpy.random.Generator (initialisers and dropout draw from it)."""
    return _generator


def get_rng_state():
    """The shared generator's state (a dict), for set_rng_state."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by get_rng_state."""
    _generator.bit_generator.state = state
