"""``RandomAgent``: a uniformly random language action from a menu — the floor every planner must beat.

The menu is fixed (``menu=[...]``) or, by default, the actions the world lists as valid at each decision
(``obs["actions"]``, as ``pan_gym.eval.planning_eval`` passes them).

Example:
    >>> agent = RandomAgent(seed=0)
    >>> agent.act({"actions": ["turn left", "turn right"]}) in ("turn left", "turn right")
    True
    >>> RandomAgent(menu=["move forward"]).plan({}, horizon=2)
    ['move forward', 'move forward']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class RandomAgent:
    """Uniform over ``menu`` (or over ``obs["actions"]`` when ``menu`` is None)."""

    def __init__(self, menu: Sequence[str] | None = None, seed: int = 0) -> None:
        if menu is not None and (isinstance(menu, str) or len(menu) == 0):
            raise ValueError("menu must be None or a non-empty list of language actions")
        self.menu = None if menu is None else list(menu)
        self.rng = np.random.default_rng([seed, 0x7A4D])

    def _menu(self, obs: dict[str, Any]) -> list[str]:
        menu = self.menu if self.menu is not None else obs.get("actions")
        if not menu:
            raise ValueError("RandomAgent has no menu: pass menu=[...] or obs['actions']")
        return list(menu)

    def plan(self, obs: dict[str, Any], horizon: int = 1, init: Sequence[str] | None = None) -> list[str]:
        menu = self._menu(obs)
        return [menu[int(i)] for i in self.rng.integers(len(menu), size=horizon)]

    def act(self, obs: dict[str, Any]) -> str:
        return self.plan(obs, 1)[0]
