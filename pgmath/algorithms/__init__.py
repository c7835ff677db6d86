"""Learning loops run on exact problems: REINFORCE, NPG, TRPO, behavioural cloning, DAgger, GCSL."""
from . import behavioural_cloning, dagger, gcsl  # noqa: F401  (imitation learning, notes §2)
