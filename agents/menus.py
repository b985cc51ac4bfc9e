"""Action menus computed from the observation, and ``WithMenu``, which gives any planner one.

Planners choose from ``obs["actions"]`` (the actions the world lists as valid) unless told otherwise; ``WithMenu``
replaces that listing by ``menu(obs)`` before the planner sees it, so CEM, propose–simulate–select and the random
agent all choose from the same menu.

``primitives(obs)``: one grid step per action — turn left, turn right, move forward, and "pick up the X" only when
the frame shows the agent facing X (the world then runs it as the single MiniGrid pickup; farther away it would walk
to X first, a multi-cell action). Enough for GoTo and PickUp missions; nothing in it moves more than one cell.
``carry(obs)`` adds "drop it" while the agent faces an empty cell: enough for PutNext.

``motions(obs)``: Meta-World's gripper motions only (six moves, open, close): no task instruction, whose scripted
expert would solve the task by itself.

``FIXED_MENUS``: BabyAI menus of a fixed size, for ``Discrete(N)`` policies (PPO in imagination).

Example:
    >>> from pan_gym.worlds import make_world
    >>> world = make_world("babyai"); frame, info = world.reset(seed=1_000_000)
    >>> primitives({"frame": frame})
    ['turn left', 'turn right', 'move forward']
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from agents.scorers import FrameReader
from pan_gym.worlds.babyai_phrases import COLORS, OBJECTS
from pan_gym.worlds.metaworld_tasks import GRIPPER_MOTIONS

PICKABLE = OBJECTS
Menu = Callable[[dict[str, Any]], list[str]]
PRIMITIVES = ("turn left", "turn right", "move forward")
GO_TO = tuple(f"go to the {c} {o}" for c in COLORS for o in OBJECTS)
PICK_UP = tuple(f"pick up the {c} {o}" for c in COLORS for o in OBJECTS)
FIXED_MENUS: dict[str, tuple[str, ...]] = {
    "all": (*PRIMITIVES, *GO_TO, *PICK_UP),
    # the primitives plus "pick up the X", without "go to the X" (the world's "pick up the X" still walks to X
    # first): a random policy over it solves 43 % of GoTo/PickUp missions in 16 steps
    "walk": (*PRIMITIVES, *PICK_UP),
    # one grid step per action: a random policy over it solves 10-12 % of GoToLocal / GoToObj missions in 12 steps
    "primitives": PRIMITIVES,
}
"""Menus of a fixed size (``Discrete(len(menu))`` policies: PPO in imagination) for BabyAI."""


@cache
def _reader() -> FrameReader:
    return FrameReader()


def primitives(obs: dict[str, Any]) -> list[str]:
    """Turns, one step forward, and the pickup of what the agent faces in ``obs["frame"]`` (module docstring)."""
    if "frame" not in obs:
        raise ValueError("the primitives menu reads obs['frame'] (the current frame, uint8 H×W×3)")
    menu = list(PRIMITIVES)
    front = _reader().front(_reader().read(obs["frame"]))
    if front is not None and front[0] in PICKABLE:
        menu.append(f"pick up the {front[1]} {front[0]}")
    return menu


def carry(obs: dict[str, Any]) -> list[str]:
    """``primitives`` plus "drop it" while the agent faces an empty cell: the moves of a put-next."""
    menu = primitives(obs)
    grid = _reader().read(obs["frame"])
    cell = _reader().front_cell(grid)
    if cell is not None and _reader().kind[grid[cell]] == "":
        menu.append("drop it")
    return menu


def motions(obs: dict[str, Any]) -> list[str]:
    """Meta-World's gripper motions: "move the gripper left" (right, forward, back, up, down), open, close."""
    return list(GRIPPER_MOTIONS)


MENUS: dict[str, Menu | None] = {
    "valid": None,
    "primitives": primitives,
    "carry": carry,
    "motions": motions,
}


class WithMenu:
    """``planner`` choosing from ``menu(obs)`` instead of the world's listing (``obs["actions"]``).

    Example:
        >>> from agents.random_agent import RandomAgent
        >>> WithMenu(RandomAgent(), lambda obs: ["turn left"]).act({"actions": ["move forward"]})
        'turn left'
    """

    def __init__(self, planner: Any, menu: Menu) -> None:
        self.planner, self.menu = planner, menu

    def act(self, obs: dict[str, Any]) -> str:
        return self.planner.act({**obs, "actions": self.menu(obs)})

    def reset(self) -> None:
        """Reset the wrapped planner (``MPC`` forgets its plan) when it can be."""
        if hasattr(self.planner, "reset"):
            self.planner.reset()
