"""The BabyAI world: MiniGrid/BabyAI single-room levels (8×8 grid) behind language actions, rendered 64×64.

Frames are the full top-down grid drawn by MiniGrid's own tile renderer at 8 px per tile, no highlight.

**Chunks.** An action runs k primitive steps (a turn is 1, "move forward 3 steps" is 3, "go to the red ball" is
as many as the shortest path needs, capped at ``max_primitive_steps``). The frame after each primitive step is kept,
and the k frames are resampled to exactly ``frames_per_action`` (T = 4) frames at evenly spaced indices
``round(linspace(0, k - 1, T))``: the last frame is always the final state, frames repeat when k < T.
An environment event mutates the grid, then takes one ``done`` primitive step (a no-op that advances the step
counter and lets BabyAI's verifier score the new state), so k = 1.

**Actions** are language (see ``babyai_phrases.py`` for every template and paraphrase):
``turn left/right``, ``move forward [2|3 steps]``, ``go to the <color> <obj|door>`` (walk the shortest path until
adjacent and facing it; the nearest match when several fit), ``pick up the <color> <obj>`` (go to, then pickup),
``drop it``, ``open/close/toggle the <color> door`` (go to, then toggle; open/close skip the toggle when the door is
already so; ``actions()`` lists open or close by the door's state, toggle is accepted but not listed; a locked door
needs its key, as in MiniGrid). Valid but impossible actions play out as the simulator would (e.g. pickup with nothing in front does
nothing); an unreachable target or an inapplicable event is one ``done`` (wait) step.
Environment events: ``a <color> <obj> appears <place>``, ``the <color> <obj> disappears``, ``the <color> <obj>
turns <color>``, ``a <color> door appears in the <top|bottom|left|right> wall`` (the 8×8 levels have no doors, so
doors are built into the outer wall at its middle cell; outside the room counts as wall), ``the <color> door
opens/closes``. ``next to the <color> <obj>`` is the first free cell right of, below, left of, above the first
such object in row-major order. An event that names no free cell or no present object changes nothing.

**Mission.** Reward and termination are BabyAI's, summed over the primitive steps; the chunk stops early at
termination. After events the mission keeps tracking the objects it named at reset (BabyAI's own
``update_objs_poss`` rule): a newly appeared match does not count, a removed or recoloured target can make the
mission unreachable. Stepping after termination keeps running the simulator; resetting is the caller's job.

Example:
    >>> world = BabyAIWorld()
    >>> frame, info = world.reset(seed=0)
    >>> frame.shape, info["mission"]
    ((64, 64, 3), 'go to the green ball')
    >>> frames, reward, terminated, truncated, info = world.step("approach the green ball")
    >>> frames.shape, terminated, info["action"]
    ((4, 64, 64, 3), True, 'go to the green ball')
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import minigrid  # noqa: F401  (registers the BabyAI levels)
import numpy as np
from minigrid.core.world_object import Ball, Box, Door, Key, WorldObj

from pan_gym.worlds import babyai_phrases as P
from pan_gym.worlds.babyai_grid import (
    DIR_VEC,
    DONE,
    DROP,
    FORWARD,
    LEFT,
    PICKUP,
    RIGHT,
    TILE,
    TOGGLE,
    BoundedGrid,
    bounded_env,
    front_after,
    render,
    resample,
    shortest_path,
    tileset,
)
from pan_gym.worlds.base import ActionKind, Split

DEFAULT_LEVELS: tuple[str, ...] = ("BabyAI-GoToLocal-v0", "BabyAI-PickupLoc-v0", "BabyAI-PutNextLocal-v0")
_OBJ_CLASS = {"ball": Ball, "box": Box, "key": Key}
__all__ = ["DEFAULT_LEVELS", "BabyAIState", "BabyAIWorld", "describe", "render", "resample"]


@dataclass
class BabyAIState:
    """A snapshot: the active level's whole env (grid, agent, carrying, step count, instructions, np_random)."""

    level: str
    env: Any
    rng: np.random.Generator


def describe(obj: WorldObj | None) -> str | None:
    """``"blue key"`` for a MiniGrid object, None for no object."""
    return None if obj is None else f"{obj.color} {obj.type}"


class BabyAIWorld:
    """BabyAI single-room levels behind language actions (see the module docstring for the full semantics).

    Args:
        levels: BabyAI level ids; the episode with seed s plays ``levels[s % len(levels)]``. Each must be 8×8.
        frames_per_action: T, frames per returned chunk.
        max_primitive_steps: cap on the primitive steps of one action (default 3 × room size = 24).
    """

    name = "babyai"
    frame_shape = (64, 64, 3)
    tile_size = TILE  # frames are an 8×8 grid of 8-px cells

    def __init__(
        self,
        levels: Sequence[str] = DEFAULT_LEVELS,
        frames_per_action: int = 4,
        max_primitive_steps: int = 24,
    ) -> None:
        if not levels:
            raise ValueError("levels must name at least one BabyAI level")
        unknown = [lv for lv in levels if lv not in gym.registry]
        if unknown:
            known = sorted(k for k in gym.registry if k.startswith("BabyAI-"))
            raise ValueError(f"unknown BabyAI levels {unknown}; known, e.g.: {', '.join(known[:6])}, ...")
        self.levels = tuple(levels)
        self.frames_per_action = frames_per_action
        self.max_primitive_steps = max_primitive_steps
        self.phrasebook = P.BABYAI_PHRASEBOOK
        self._envs: dict[str, Any] = {}
        self._rng = np.random.default_rng()
        self._level = self.levels[0]
        self.env: Any = None  # the active MiniGrid env (unwrapped)
        self.bot: Any = None  # expert state (babyai_expert.py); dropped whenever the world changes under it
        self.bot_expects: str | None = None

    # ----- episode -----
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode of ``levels[seed % len(levels)]``; returns the frame (64, 64, 3) and ``info["mission"]``."""
        if seed is None:
            seed = int(self._rng.integers(2**31 - 1))
        self._level = self.levels[seed % len(self.levels)]
        if self._level not in self._envs:
            self._envs[self._level] = bounded_env(gym.make(self._level).unwrapped)
        self.env = self._envs[self._level]
        with contextlib.redirect_stdout(io.StringIO()):  # BabyAI prints "Sampling rejected: ..." lines
            self.env.reset(seed=seed)
        if (self.env.width, self.env.height) != (8, 8):
            raise ValueError(
                f"{self._level} is {self.env.width}×{self.env.height}; BabyAIWorld needs 8×8 levels"
            )
        self.env.grid.__class__ = BoundedGrid
        self.bot = None
        return render(self.env), {"mission": self.env.mission, "level": self._level, "carrying": None}

    def step(self, action: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Execute a language action (any phrasing of either split): (frames (T, 64, 64, 3), reward, term, trunc, info)."""
        if self.env is None:
            raise RuntimeError("call reset() before step()")
        # TypeError for non-str, ValueError with examples if unparseable
        parsed = self.phrasebook.parse(action)
        canonical, kind = parsed.canonical, parsed.template.kind
        if canonical != self.bot_expects:
            self.bot = None  # the expert's plan no longer describes this world
        self.bot_expects = None
        if kind == "environment":
            self._apply_event(parsed.template.canonical, parsed.values)
            prims = [DONE]
        else:
            prims = self._plan(parsed.template.canonical, parsed.values)
        env, frames, reward, terminated, truncated = self.env, [], 0.0, False, False
        for a in prims:
            _, r, terminated, truncated, _ = env.step(a)
            reward += float(r)
            frames.append(render(env))
            if terminated or truncated:
                break
        info = {
            "mission": env.mission,
            "action": canonical,
            "kind": kind,
            "primitive_steps": len(frames),
            "carrying": describe(env.carrying),
            "level": self._level,
        }
        return resample(frames, self.frames_per_action), reward, bool(terminated), bool(truncated), info

    # ----- language -----
    def actions(self, kind: ActionKind = "all") -> list[str]:
        """Canonical actions meaningful now: agent actions and/or environment events on present objects/free cells."""
        if kind not in ("agent", "environment", "all"):
            raise ValueError(f"kind must be 'agent', 'environment' or 'all', got {kind!r}")
        if self.env is None:
            raise RuntimeError("call reset() before actions()")
        objs, doors = self._things()
        out: list[str] = []
        if kind in ("agent", "all"):
            out += ["turn left", "turn right", "move forward", "move forward 2 steps", "move forward 3 steps"]
            for d in _unique(objs):
                out.append(f"go to the {d}")
                if self.env.carrying is None:
                    out.append(f"pick up the {d}")
            if self.env.carrying is not None:
                out.append("drop it")
            for d in doors:
                out.append(f"go to the {d.color} door")
                out.append(f"{'close' if d.is_open else 'open'} the {d.color} door")
        if kind in ("environment", "all"):
            out += self._event_actions(objs, doors)
        return list(dict.fromkeys(out))

    def tiles(self) -> np.ndarray:
        """Every tile a cell can show: uint8 (K, 8, 8, 3) (``babyai_grid.tileset``); eval reads cells against it."""
        return tileset()

    def paraphrases(self, split: Split = "train") -> dict[str, list[str]]:
        """Canonical template -> phrasings of ``split`` (train and held-out are disjoint; ``step`` accepts both)."""
        return self.phrasebook.paraphrases(split)

    def phrase(self, action: str, split: Split, rng: np.random.Generator) -> str:
        """A random phrasing of a canonical action from ``split``."""
        return self.phrasebook.phrase(action, split, rng)

    def action_template(self, action: str) -> str:
        """The canonical template of an action, e.g. ``"go to the {color} {obj}"`` (policies group by it)."""
        return self.phrasebook.template_of(action)

    def expert_action(
        self, rng: np.random.Generator, macro_prob: float = 0.3, event_prob: float = 0.0
    ) -> str:
        """The BabyAI bot's next move toward the mission, as a canonical language action (see babyai_expert.py)."""
        from pan_gym.worlds.babyai_expert import expert_action

        return expert_action(self, rng, macro_prob=macro_prob, event_prob=event_prob)

    # ----- state -----
    def get_state(self) -> BabyAIState:
        """Snapshot the whole simulation (the env deep-copied, including its np_random)."""
        return BabyAIState(self._level, copy.deepcopy(self.env), copy.deepcopy(self._rng))

    def set_state(self, state: BabyAIState) -> None:
        """Restore a snapshot (the snapshot stays reusable): same state + same action -> identical frames."""
        self._level = state.level
        self.env = self._envs[state.level] = copy.deepcopy(state.env)
        self._rng = copy.deepcopy(state.rng)
        self.bot, self.bot_expects = None, None

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        self.env = None

    # ----- internals -----
    def _things(self) -> tuple[list[WorldObj], list[Door]]:
        """Objects (ball/box/key) and doors on the grid, row-major order."""
        objs, doors = [], []
        for cell in self.env.grid.grid:
            if cell is None:
                continue
            if cell.type in _OBJ_CLASS:
                objs.append(cell)
            elif cell.type == "door":
                doors.append(cell)
        return objs, doors

    def _find(self, color: str, typ: str) -> list[tuple[int, int]]:
        """Cells holding a ``color typ`` object, row-major order."""
        w = self.env.grid.width
        return [
            (k % w, k // w)
            for k, c in enumerate(self.env.grid.grid)
            if c is not None and c.type == typ and c.color == color
        ]

    def _free(self, pos: tuple[int, int]) -> bool:
        x, y = pos
        g = self.env.grid
        inside = 0 < x < g.width - 1 and 0 < y < g.height - 1
        return inside and g.get(x, y) is None and (x, y) != tuple(self.env.agent_pos)

    def _place_cell(self, place: str) -> tuple[int, int] | None:
        """The exact cell a place phrase names, or None when it names no free cell."""
        env = self.env
        ax, ay = env.agent_pos
        dx, dy = DIR_VEC[env.agent_dir]
        w, h = env.grid.width, env.grid.height
        rel = {
            "in front of the agent": (ax + dx, ay + dy),
            "behind the agent": (ax - dx, ay - dy),
            "to the left of the agent": (ax + dy, ay - dx),
            "to the right of the agent": (ax - dy, ay + dx),
            "in the top left corner": (1, 1),
            "in the top right corner": (w - 2, 1),
            "in the bottom left corner": (1, h - 2),
            "in the bottom right corner": (w - 2, h - 2),
        }
        if place in rel:
            return rel[place] if self._free(rel[place]) else None
        color, typ = place.removeprefix("next to the ").split(" ")
        anchors = self._find(color, typ)
        if not anchors:
            return None
        x, y = anchors[0]
        return next((c for c in ((x + 1, y), (x, y + 1), (x - 1, y), (x, y - 1)) if self._free(c)), None)

    def _wall_cell(self, wall: str) -> tuple[int, int]:
        w, h = self.env.grid.width, self.env.grid.height
        return {
            "top": ((w - 1) // 2, 0),
            "bottom": ((w - 1) // 2, h - 1),
            "left": (0, (h - 1) // 2),
            "right": (w - 1, (h - 1) // 2),
        }[wall]

    def _event_actions(self, objs: list[WorldObj], doors: list[Door]) -> list[str]:
        out = []
        free_places = [p for p in P.AGENT_PLACES + P.CORNER_PLACES if self._place_cell(p) is not None]
        free_places += [
            f"next to the {d}" for d in _unique(objs) if self._place_cell(f"next to the {d}") is not None
        ]
        for place in free_places:
            out += [f"a {c} {o} appears {place}" for c in P.COLORS for o in P.OBJECTS]
        for d in _unique(objs):
            out.append(f"the {d} disappears")
            color = d.split(" ")[0]
            out += [f"the {d} turns {c}" for c in P.COLORS if c != color]
        door_colors = {d.color for d in doors}
        for wall in P.WALLS:
            cell = self.env.grid.get(*self._wall_cell(wall))
            if cell is not None and cell.type == "wall":
                out += [f"a {c} door appears in the {wall} wall" for c in P.COLORS if c not in door_colors]
        agent = tuple(self.env.agent_pos)
        for d in doors:
            if not d.is_open:
                out.append(f"the {d.color} door opens")
            elif tuple(d.cur_pos) != agent:
                out.append(f"the {d.color} door closes")
        return out

    def _apply_event(self, template: str, v: dict[str, str]) -> None:
        """Mutate the grid for an environment event; an inapplicable event changes nothing."""
        env, grid = self.env, self.env.grid
        if template == "a {color} {obj} appears {place}":
            cell = self._place_cell(v["place"])
            if cell is not None:
                obj = _OBJ_CLASS[v["obj"]](v["color"])
                grid.set(*cell, obj)
                obj.init_pos = obj.cur_pos = cell
        elif template in ("the {color} {obj} disappears", "the {color} {obj} turns {new_color}"):
            cells = self._find(v["color"], v["obj"])
            for cell in cells[:1]:
                if template.endswith("disappears"):
                    grid.set(*cell, None)
                else:
                    grid.get(*cell).color = v["new_color"]
        elif template == "a {color} door appears in the {wall} wall":
            cell = self._wall_cell(v["wall"])
            taken = any(d.color == v["color"] for d in self._things()[1])
            if grid.get(*cell).type == "wall" and not taken:
                door = Door(v["color"], is_open=False)
                grid.set(*cell, door)
                door.init_pos = door.cur_pos = cell
        elif template in ("the {color} door opens", "the {color} door closes"):
            opening = template.endswith("opens")
            for cell in self._find(v["color"], "door"):
                door = grid.get(*cell)
                if opening:
                    door.is_open, door.is_locked = True, False
                elif cell != tuple(env.agent_pos):
                    door.is_open = False
        env.update_objs_poss()  # BabyAI's own hook: the mission's verifier re-finds the objects it names

    def _plan(self, template: str, v: dict[str, str]) -> list[int]:
        """Primitive actions for an agent action (at most ``max_primitive_steps``; at least one)."""
        if template == "turn {side}":
            return [LEFT if v["side"] == "left" else RIGHT]
        if template == "move forward":
            return [FORWARD]
        if template == "move forward {n} steps":
            return [FORWARD] * int(v["n"])
        if template == "drop it":
            return [DROP]
        typ = v.get("obj", "door")
        path = shortest_path(self.env, set(self._find(v["color"], typ)))
        if path is None:
            return [DONE]  # unreachable or absent: the agent waits one step
        if template == "pick up the {color} {obj}":
            path = path + [PICKUP]
        elif template != "go to the {color} {obj}":  # open / close / toggle the door
            door = self.env.grid.get(*front_after(self.env, path))
            already = {"open the {color} door": door.is_open, "close the {color} door": not door.is_open}
            if not already.get(template, False):
                path = path + [TOGGLE]
        return path[: self.max_primitive_steps] or [DONE]


def _unique(objs: list[WorldObj]) -> list[str]:
    """Distinct ``"color type"`` descriptions, first-seen order."""
    return list(dict.fromkeys(f"{o.color} {o.type}" for o in objs))
