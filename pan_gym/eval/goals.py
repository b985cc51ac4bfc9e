"""Goal frames for goal-image planning: a frame of the episode's task done, reachable with the planner's actions.

``search_goal`` runs a beam search in the true world from its current state over a fixed menu of actions (Meta-World's
gripper motions, say), ranking partial sequences by the world's reward (Meta-World's shaped 0–10 reward), until one
ends the episode in success. The last frame of that sequence is the goal image the planner is given (V-JEPA 2-AC's
protocol: the goal is a picture of the task done, and nothing else about the task). Because the goal was reached with
the planner's own menu, the goal is reachable, and the arm in it stands where the menu's moves can put it (a goal drawn
from the scripted expert's path would show poses that motions cannot match). The world's state is restored after the
search, so the episode starts where it was.

Example:
    >>> from pan_gym.worlds import make_world
    >>> from pan_gym.worlds.metaworld_tasks import GRIPPER_MOTIONS
    >>> world = make_world("metaworld", tasks=("reach-v3",)); frame, info = world.reset(seed=1_000_000)
    >>> found = search_goal(world, list(GRIPPER_MOTIONS), depth=3, beam=4)
    >>> found.frame.shape, len(found.actions) <= 3
    ((64, 64, 3), True)
    >>> world.get_state()["n_actions"]   # the world is back at its start state
    0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Goal:
    """A goal image and the actions that reached it in the true world."""

    frame: np.ndarray  # (H, W, 3) uint8, the last frame of the successful sequence
    actions: list[str]


def search_goal(world: Any, menu: Sequence[str], depth: int = 8, beam: int = 8) -> Goal | None:
    """A beam search over ``menu`` by the world's reward for a sequence of at most ``depth`` actions that ends the
    episode in success (``terminated`` with ``info["success"]``); None when none is found. The world's state is the
    same before and after."""
    if depth < 1 or beam < 1 or not menu:
        raise ValueError("search_goal needs depth >= 1, beam >= 1 and a non-empty menu")
    start = world.get_state()
    frontier: list[tuple[list[str], Any]] = [([], start)]
    try:
        for _ in range(depth):
            scored: list[tuple[float, list[str], Any]] = []
            for actions, state in frontier:
                for action in menu:
                    world.set_state(state)
                    chunk, reward, terminated, truncated, info = world.step(action)
                    if terminated and info.get("success", reward > 0):
                        return Goal(np.array(chunk[-1]), [*actions, action])
                    if not truncated:
                        scored.append((float(reward), [*actions, action], world.get_state()))
            scored.sort(key=lambda s: -s[0])  # stable: ties keep the menu's order
            frontier = [(a, s) for _, a, s in scored[:beam]]
            if not frontier:
                return None
        return None
    finally:
        world.set_state(start)
