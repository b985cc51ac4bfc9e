"""Scorers that read imagined frames: how close each simulated rollout brings a BabyAI go-to, pick-up or put-next
mission.

A scorer is ``(rollouts, mission) -> scores (N,)`` (``agents.simulators.ScoreFn``); planners take one as
``score_fn=`` (CEM) or ``scorer=`` (propose–simulate–select). ``MissionDistance`` needs frames, so a
``ModelSimulator`` used with it must decode (``latent_only=False``).

``MissionDistance`` reads each step's frame cell by cell as the world's tiles (``pan_gym.eval.metrics.TileBook``
with ``babyai_grid.tile_labels``), finds the agent (cell and heading) and every cell showing an object the mission
names, and counts the turn/forward actions the agent would still need **if nothing stood in the way** to face the
nearest one (a lower bound: walking around objects is left to the planner's search). Facing a target is done for
"go to"; "pick up" needs one more action and is done when fewer targets show than in the rollouts' start frame.
"put the X next to the Y" costs facing X, its pickup, the walk on to face a free cell beside a Y, and the drop (walks
through empty cells only); once X is carried (fewer X show than at the start, or none), facing such a cell and the
drop; done when an X stands beside a Y (sharing a side, as BabyAI counts it).
A rollout scores ``-(its lowest cost) - step·ε`` (soonest best), with the cost of a frame that does not clearly show
exactly one agent set to ``unreadable``. The model and the oracle are scored by the same rule, so their success
rates differ only by what the model imagines. Location words ("… behind you") are not read.

``MissionReward`` is the same reading as an env reward (PPO in imagination), ``FrameReader`` the reading itself.

Example:
    >>> from pan_gym.worlds import make_world
    >>> from agents.simulators import OracleSimulator
    >>> world = make_world("babyai", levels=("BabyAI-GoToLocal-v0",)); frame, info = world.reset(seed=1_000_002)
    >>> info["mission"]
    'go to the green box'
    >>> sim = OracleSimulator(world); sim.begin({"world_state": world.get_state()})
    >>> scores = MissionDistance()(sim.simulate([["turn left"], ["move forward"]]), info["mission"])
    >>> scores.shape
    (2,)
"""

from __future__ import annotations

import re
from collections import deque
from functools import cache

import numpy as np

from agents.simulators import Rollouts
from pan_gym.eval.metrics import TileBook
from pan_gym.worlds.babyai_grid import DIR_VEC, tile_labels, tileset

_MISSION = re.compile(r"\b(go to|pick up) (?:the|a) (?:(\w+) )?(ball|box|key|door)\b")
_PUT_NEXT = re.compile(
    r"\bput (?:the|a) (?:(\w+) )?(ball|box|key) next to (?:the|a) (?:(\w+) )?(ball|box|key|door)\b"
)
NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (row, col) steps: BabyAI's "next to" (no diagonals)


def parse_mission(mission: str) -> tuple[str, str | None, str]:
    """``"go to a red ball"`` -> ``("go to", "red", "ball")``; the colour is None when the mission names none."""
    m = _MISSION.search(mission.lower())
    if m is None:
        raise ValueError(f"not a BabyAI 'go to' / 'pick up' mission: {mission!r}")
    return m.group(1), m.group(2), m.group(3)


def parse_put_next(mission: str) -> tuple[tuple[str | None, str], tuple[str | None, str]] | None:
    """``"put the red ball next to a key"`` -> ``(("red", "ball"), (None, "key"))``: (colour, type) of the object
    to move and of the one to put it by; None for any other mission."""
    m = _PUT_NEXT.search(mission.lower())
    return None if m is None else ((m.group(1), m.group(2)), (m.group(3), m.group(4)))


def ahead(x: int, y: int, d: int) -> tuple[int, int]:
    """(x, y) of the cell in front of an agent at (x, y) heading d."""
    return x + DIR_VEC[d][0], y + DIR_VEC[d][1]


@cache
def _free_cost(size: int) -> np.ndarray:
    """Turn/forward actions to face the cell (dx, dy) away from an agent heading d on an empty plane:
    int table indexed [dx + size, dy + size, d] (BFS over relative poses)."""
    span = 2 * size + 1
    cost = np.full((span, span, 4), -1, np.int64)
    queue: deque[tuple[int, int, int]] = deque()
    for d, (dx, dy) in enumerate(DIR_VEC):  # done: the target one step ahead
        cost[dx + size, dy + size, d] = 0
        queue.append((dx, dy, d))
    while queue:  # BFS backwards over the target's offset from the agent
        dx, dy, d = queue.popleft()
        back = DIR_VEC[d]
        # one action earlier the agent was turned the other way (same offset), or one cell back along d
        for pdx, pdy, pd in ((dx, dy, (d + 1) % 4), (dx, dy, (d - 1) % 4), (dx + back[0], dy + back[1], d)):
            if (
                (pdx, pdy) != (0, 0)
                and max(abs(pdx), abs(pdy)) <= size
                and cost[pdx + size, pdy + size, pd] < 0
            ):
                cost[pdx + size, pdy + size, pd] = cost[dx + size, dy + size, d] + 1
                queue.append((pdx, pdy, pd))
    return cost


class FrameReader:
    """Reads BabyAI frames cell by cell (``TileBook`` over the world's tiles): the agent's pose, what each cell holds.

    Example:
        >>> from pan_gym.worlds import make_world
        >>> world = make_world("babyai"); frame, _ = world.reset(seed=1_000_000)
        >>> grid = FrameReader().read(frame); pose = FrameReader().agent(grid)
        >>> pose == (*world.env.agent_pos, world.env.agent_dir)
        True
    """

    def __init__(self) -> None:
        self.book = TileBook(tileset())
        # one entry per tile, then a blank one last: a cell read as no tile (id -1) indexes it
        labels = [*tile_labels(), (None, None, None)]
        self.kind = np.array([lab[0] or "" for lab in labels])  # (K + 1,) object type per tile, "" for none
        self.color = np.array([lab[1] or "" for lab in labels])  # (K + 1,)
        # (K + 1,) the agent's direction on the tile, -1 where no agent is drawn
        self.heading = np.array([-1 if lab[2] is None else lab[2] for lab in labels])

    def read(self, frames: np.ndarray) -> np.ndarray:
        """(..., H, W, 3) uint8 -> tile ids (..., H/8, W/8), -1 where a cell shows no tile clearly."""
        return self.book.read(frames)

    def agent(self, grid: np.ndarray) -> tuple[int, int, int] | None:
        """(x, y, heading) of the one agent a grid of tile ids shows; None if it shows none or several."""
        where = np.argwhere(self.heading[grid] >= 0)  # (n, 2) as (row, col)
        if len(where) != 1:
            return None
        y, x = where[0]
        return int(x), int(y), int(self.heading[grid[y, x]])

    def matches(self, grid: np.ndarray, kind: str, color: str | None) -> np.ndarray:
        """(m, 2) (row, col) of the cells showing a ``color`` (any colour if None) object of type ``kind``."""
        match = self.kind[grid] == kind
        if color is not None:
            match &= self.color[grid] == color
        return np.argwhere(match)

    def front_cell(self, grid: np.ndarray) -> tuple[int, int] | None:
        """(row, col) of the cell the agent faces, None if that cell is off the grid or unreadable (or no single
        agent is shown)."""
        pose = self.agent(grid)
        if pose is None:
            return None
        fx, fy = ahead(*pose)
        inside = 0 <= fy < grid.shape[0] and 0 <= fx < grid.shape[1]
        return (fy, fx) if inside and grid[fy, fx] >= 0 else None

    def front(self, grid: np.ndarray) -> tuple[str, str] | None:
        """(type, colour) of the object the agent faces, None if it faces nothing (or no single agent is shown)."""
        cell = self.front_cell(grid)
        if cell is None:
            return None
        kind = str(self.kind[grid[cell]])
        return (kind, str(self.color[grid[cell]])) if kind else None


class MissionDistance:
    """Score rollouts by how close their frames bring a BabyAI go-to / pick-up mission (module docstring).

    Args:
        unreadable: the cost of a frame that shows no agent, several agents or a cell that reads as no tile.
        step_cost: ε, added per step before the best frame (prefers the sooner of equal outcomes).
    """

    def __init__(self, unreadable: float = 100.0, step_cost: float = 0.01) -> None:
        self.reader = FrameReader()
        self.unreadable, self.step_cost = unreadable, step_cost

    def costs(self, frames: np.ndarray, mission: str, start: np.ndarray | None = None) -> np.ndarray:
        """Actions still needed per frame: (..., H, W, 3) uint8 -> (...,) float64 (0 = mission done).

        ``start`` (H, W, 3), the frame before the actions: a "pick up" is done when fewer objects match than there.
        """
        ids = self.reader.read(frames)  # (..., gh, gw)
        flat = ids.reshape(-1, *ids.shape[-2:])
        put = parse_put_next(mission)
        if put is not None:
            before = None if start is None else self._put_counts(self.reader.read(start), put[0])
            out = np.array([self._put_cost(grid, *put, before) for grid in flat], np.float64)
            return out.reshape(ids.shape[:-2])
        verb, color, kind = parse_mission(mission)
        before = None
        if verb == "pick up" and start is not None:
            before = len(self.reader.matches(self.reader.read(start), kind, color))
        out = np.array([self._cost(grid, verb, color, kind, before) for grid in flat], np.float64)
        return out.reshape(ids.shape[:-2])

    def _cost(self, grid: np.ndarray, verb: str, color: str | None, kind: str, before: int | None) -> float:
        pose = None if (grid < 0).any() else self.reader.agent(grid)
        if pose is None:
            return self.unreadable
        targets = self.reader.matches(grid, kind, color)
        if verb == "pick up" and len(targets) < (before if before is not None else 1):
            return 0.0  # one was picked up (a carried object is not drawn)
        if len(targets) == 0:
            return self.unreadable
        x, y, d = pose
        size = max(grid.shape)
        table = _free_cost(size)
        best = min(int(table[tx - x + size, ty - y + size, d]) for ty, tx in targets)
        return float(best + (verb == "pick up"))  # a pick-up still needs its pickup

    def _put_counts(self, grid: np.ndarray, moved: tuple) -> tuple[int, int]:
        """(objects matching the one to move, all pickable objects) that a grid shows."""
        pickable = np.isin(self.reader.kind[grid], ("ball", "box", "key")).sum()
        return len(self.reader.matches(grid, moved[1], moved[0])), int(pickable)

    def _put_cost(
        self, grid: np.ndarray, moved: tuple, fixed: tuple, before: tuple[int, int] | None
    ) -> float:
        """A put-next's actions still needed: face the object, pick it up, walk on until facing a free cell next
        to the fixed one, drop it; once carried, face such a cell and drop. Walks go through empty cells only.
        Another object picked up (fewer objects show than at the start, as many of the one to move) is
        ``unreadable``: with it in hand the one to move cannot be picked up."""
        pose = None if (grid < 0).any() else self.reader.agent(grid)
        anchors = self.reader.matches(grid, fixed[1], fixed[0])  # (m, 2) (row, col)
        if pose is None or len(anchors) == 0:
            return self.unreadable
        movers = self.reader.matches(grid, moved[1], moved[0])
        n_moved, n_objects = self._put_counts(grid, moved)
        carried = len(movers) == 0 or (before is not None and n_moved < before[0])
        if before is not None and n_objects < before[1] and not n_moved < before[0]:
            return self.unreadable  # another object picked up: the agent cannot pick up the one to move
        near = {(int(r + dr), int(c + dc)) for r, c in anchors for dr, dc in NEIGHBOURS}
        if any((int(r), int(c)) in near for r, c in movers):
            return 0.0  # the level never starts with the two next to each other: it was put there
        free = [(r, c) for r, c in near if 0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]]
        free = [(r, c) for r, c in free if self.reader.kind[grid[r, c]] == ""]
        if not free:
            return self.unreadable
        if carried:  # a carried object is not drawn
            return self._walk(grid, pose, free)[0] + 1
        reach, at = self._walk(grid, pose, [(int(r), int(c)) for r, c in movers])
        if at is None:
            return self.unreadable
        fx, fy = ahead(*at)  # then on from where it was picked up, its cell now empty
        carry, end = self._walk(grid, at, free, opened=(fy, fx))
        return self.unreadable if end is None else reach + 1 + carry + 1

    def _walk(
        self, grid: np.ndarray, pose: tuple[int, int, int], cells: list, opened: tuple[int, int] | None = None
    ) -> tuple[float, tuple[int, int, int] | None]:
        """Turn/forward actions, through empty cells (and ``opened``) only, until the agent faces one of ``cells``
        (row, col), and the pose it then has; (``unreadable``, None) when none can be faced."""
        goal = set(cells)
        empty = self.reader.kind[grid] == ""  # (gh, gw)
        if opened is not None:
            empty[opened] = True
        seen, queue = {pose}, deque([(pose, 0)])
        while queue:
            (x, y, d), n = queue.popleft()
            fx, fy = ahead(x, y, d)
            if (fy, fx) in goal:
                return float(n), (x, y, d)
            steps = [(x, y, (d + 1) % 4), (x, y, (d - 1) % 4)]
            if 0 <= fy < grid.shape[0] and 0 <= fx < grid.shape[1] and empty[fy, fx]:
                steps.append((fx, fy, d))
            for nxt in steps:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, n + 1))
        return self.unreadable, None

    def __call__(self, rollouts: Rollouts, mission: str) -> np.ndarray:
        if rollouts.frames is None:
            raise ValueError("MissionDistance reads frames: simulate with latent_only=False")
        c = self.costs(rollouts.frames, mission, rollouts.start)  # (N, H)
        t = np.arange(c.shape[1])
        done = c == 0
        # a step after the first success does not count (the real episode has ended there)
        after = np.cumsum(done, axis=1) - done > 0
        c = np.where(after, np.inf, c + self.step_cost * t)
        return -c.min(axis=1)


class MissionReward:
    """``MissionDistance`` as an env reward ``(obs, action, info) -> (reward, terminated)`` on the step's last frame.

    1 and terminated when the frame shows the mission done; otherwise ``-shaping × min(cost, cap)`` (a dense
    nudge toward the target, the same in imagination and in the real world). Needs decoded frames
    (``latent_only=False``) and ``info["mission"]``; a "pick up" counts as done only when no target is left
    (one step's frame alone does not say how many there were).

    Example:
        >>> from pan_gym.worlds import make_world
        >>> world = make_world("babyai", levels=("BabyAI-GoToLocal-v0",)); frame, info = world.reset(seed=1_000_002)
        >>> MissionReward()({"frames": frame[None]}, "turn left", {"mission": info["mission"]})
        (-0.02, False)
    """

    def __init__(self, shaping: float = 0.01, cap: float = 20.0) -> None:
        self.distance, self.shaping, self.cap = MissionDistance(), shaping, cap

    def __call__(self, obs: dict, action: str, info: dict) -> tuple[float, bool]:
        cost = float(self.distance.costs(obs["frames"][-1], info["mission"]))
        return (1.0, True) if cost == 0 else (-self.shaping * min(cost, self.cap), False)
