"""MiniGrid plumbing for the BabyAI world: rendering, chunk resampling, the bounded grid, the path planner.

Example:
    >>> frames = [np.full((64, 64, 3), i, np.uint8) for i in range(8)]
    >>> [int(f[0, 0, 0]) for f in resample(frames, 4)]
    [0, 2, 5, 7]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from minigrid.core.constants import COLOR_NAMES
from minigrid.core.grid import Grid
from minigrid.core.world_object import Ball, Box, Door, Floor, Goal, Key, Lava, Wall, WorldObj

from pan_gym.worlds.base import chunk_indices

TILE = 8
LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE, DONE = range(7)  # MiniGrid's primitive actions
DIR_VEC = ((1, 0), (0, 1), (-1, 0), (0, -1))  # agent_dir -> (dx, dy): east, south, west, north
_OUTSIDE = Wall()


class BoundedGrid(Grid):
    """MiniGrid's Grid where cells outside the room read as wall (an agent in an outer-wall doorway can still act)."""

    def get(self, i: int, j: int) -> WorldObj | None:
        if 0 <= i < self.width and 0 <= j < self.height:
            return self.grid[j * self.width + i]
        return _OUTSIDE


_BOUNDED_ENVS: dict[type, type] = {}


def _bounded_class(cls: type) -> type:
    """``Bounded<Level>``: the level's class with the two changes of ``bounded_env`` (made once per class)."""
    if cls not in _BOUNDED_ENVS:

        def room_from_pos(self: Any, x: int, y: int) -> Any:
            return cls.room_from_pos(self, min(max(x, 1), self.width - 2), min(max(y, 1), self.height - 2))

        def gen_obs(self: Any) -> dict[str, Any]:
            return {"direction": self.agent_dir, "mission": self.mission}

        name = f"Bounded{cls.__name__}"
        attrs = {
            "room_from_pos": room_from_pos,
            "gen_obs": gen_obs,
            "__module__": __name__,
            "__qualname__": name,
        }
        _BOUNDED_ENVS[cls] = type(name, (cls,), attrs)
    return _BOUNDED_ENVS[cls]


def __getattr__(name: str) -> type:
    """Module attribute ``Bounded<Level>`` for pickle: snapshots (``get_state``) can cross processes."""
    import minigrid.envs.babyai as levels

    if name.startswith("Bounded") and hasattr(levels, name[len("Bounded") :]):
        return _bounded_class(getattr(levels, name[len("Bounded") :]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def bounded_env(env: Any) -> Any:
    """Adapt a level's env: ``room_from_pos`` accepts an outer-wall doorway (it belongs to the room beside it)
    instead of asserting, and ``gen_obs`` skips the agent's partial view (unused here: frames show the whole grid;
    it was a third of the step time)."""
    env.__class__ = _bounded_class(type(env))
    return env


def render(env: Any) -> np.ndarray:
    """The full top-down grid from MiniGrid's cached tile renderer, no highlight: uint8 (H·8, W·8, 3).

    Pixel-identical to ``env.get_frame(highlight=False, tile_size=8)``, without its field-of-view computation.
    """
    grid = env.grid
    w, h = grid.width, grid.height
    ax, ay = env.agent_pos
    img = np.empty((h, TILE, w, TILE, 3), np.uint8)  # (rows, px, cols, px, 3)
    tile = Grid.render_tile
    for j in range(h):
        for i in range(w):
            here = i == ax and j == ay
            img[j, :, i] = tile(
                grid.grid[j * w + i], agent_dir=env.agent_dir if here else None, tile_size=TILE
            )
    return img.reshape(h * TILE, w * TILE, 3)


def tileset() -> np.ndarray:
    """Every tile ``render`` can draw in one cell: uint8 (K, 8, 8, 3), distinct, the empty floor first.

    Each object MiniGrid knows (walls, floors, doors open/closed/locked, keys, balls, boxes in every colour, goal,
    lava), alone and with the agent on it facing each way (impossible pairs too: they only make reading stricter).
    """
    return _labelled_tiles()[0].copy()


def tile_labels() -> list[tuple[str | None, str | None, int | None]]:
    """What each ``tileset()`` tile shows: ``(object type, colour, agent direction)``, None where absent.

    The empty floor is ``(None, None, None)``; the agent facing east on it ``(None, None, 0)``; a red ball
    ``("ball", "red", None)``. Reading a frame with ``TileBook(tileset())`` and looking its ids up here gives a
    symbolic grid.
    """
    return list(_labelled_tiles()[1])


@cache
def _labelled_tiles() -> tuple[np.ndarray, list[tuple[str | None, str | None, int | None]]]:
    objs: list[WorldObj | None] = [None, Wall(), Goal(), Lava()]
    for c in COLOR_NAMES:
        objs += [Floor(c), Key(c), Ball(c), Box(c), Door(c, is_open=True), Door(c), Door(c, is_locked=True)]
    tiles, labels = [], []
    for o in objs:
        for d in (None, 0, 1, 2, 3):  # render_tile gives floats; render() stores them in uint8 the same way
            tiles.append(Grid.render_tile(o, agent_dir=d, tile_size=TILE).astype(np.uint8))
            labels.append((None if o is None else o.type, None if o is None else o.color, d))
    _, first = np.unique(np.stack(tiles).reshape(len(tiles), -1), axis=0, return_index=True)
    keep = sorted(first)
    return np.stack([tiles[i] for i in keep]), [labels[i] for i in keep]


def resample(frames: Sequence[np.ndarray], t: int) -> np.ndarray:
    """k frames -> exactly t frames at indices round(linspace(0, k-1, t)): (t, H, W, 3), ends on the last frame."""
    idx = chunk_indices(len(frames), t)
    return np.stack([frames[i] for i in idx])


def front_after(env: Any, path: list[int]) -> tuple[int, int]:
    """The cell the agent faces after running turn/forward ``path`` (which ends facing its target)."""
    x, y, d = *env.agent_pos, env.agent_dir
    for a in path:
        if a == LEFT:
            d = (d - 1) % 4
        elif a == RIGHT:
            d = (d + 1) % 4
        else:
            x, y = x + DIR_VEC[d][0], y + DIR_VEC[d][1]
    return x + DIR_VEC[d][0], y + DIR_VEC[d][1]


def shortest_path(env: Any, targets: set[tuple[int, int]]) -> list[int] | None:
    """BFS over (x, y, dir): the fewest turn/forward actions until the agent faces a target cell; None if none."""
    if not targets:
        return None
    grid = env.grid
    start = (*env.agent_pos, env.agent_dir)
    prev: dict[tuple[int, int, int], tuple[tuple[int, int, int], int] | None] = {start: None}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        x, y, d = s
        fx, fy = x + DIR_VEC[d][0], y + DIR_VEC[d][1]
        if (fx, fy) in targets:
            path = []
            while prev[s] is not None:
                s, a = prev[s]
                path.append(a)
            return path[::-1]
        cell = grid.get(fx, fy)
        nexts = [((x, y, (d - 1) % 4), LEFT), ((x, y, (d + 1) % 4), RIGHT)]
        if cell is None or cell.can_overlap():
            nexts.append(((fx, fy, d), FORWARD))
        for n, a in nexts:
            if n not in prev:
                prev[n] = (s, a)
                queue.append(n)
    return None
