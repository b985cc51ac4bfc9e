"""pan-gym: the PAN world model (arXiv 2511.09057) as a Gymnasium environment."""

__version__ = "0.1.0"

from pan_gym.env import registration as _registration  # noqa: E402,F401  (registers the gymnasium ids)
