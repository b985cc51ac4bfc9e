"""Any Gymnasium env with an ``rgb_array`` render as a World: its actions named in language, its frames resized.

- **Frames**: ``render()`` after each primitive step, resized to ``image_size``; an action runs ``steps_per_action``
  primitive steps and its chunk is their frames resampled to ``frames_per_action`` (``chunk_indices``: frames
  repeat when there are fewer steps than frames).
- **Actions**: ``Discrete(n)`` actions take the names given (``["push left", "push right"]``) or ``"action 0"`` …;
  ``Box`` actions go through named bins, ``{"push left": [-1.0], ...}``, or by default one bin per dimension and
  end (``"action 0 low"``, ``"action 0 high"``) plus ``"no action"`` (the middle of the box).
- **Language**: any phrasing of ``paraphrases`` (``{name: [train phrasings]}``, and ``heldout`` the same) parses
  back to its action; without them each action has its name as its only phrasing.
- **Snapshots**: MuJoCo envs through ``qpos``/``qvel``, ALE through ``cloneState``, every other env through a deep
  copy of its attributes (a renderer that cannot be copied is shared). The world checks at construction that a
  restored state gives identical frames, and says so when it does not.
- **Expert**: optional, a callable ``observation -> env action`` or a stable-baselines3 model (``.predict``); it
  turns ``policy="expert"`` / ``"mixed"`` collection on.

Example:
    >>> world = GymWorld("CartPole-v1", actions=["push left", "push right"], mission="balance the pole")
    >>> frame, info = world.reset(seed=0)
    >>> frames, reward, terminated, truncated, info = world.step("push left")
    >>> frame.shape, frames.shape, info["action"], world.actions()
    ((64, 64, 3), (4, 64, 64, 3), 'push left', ['push left', 'push right'])
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cv2
import gymnasium as gym
import numpy as np

from pan_gym.worlds.base import ActionKind, Split, chunk_indices, normalize_action
from pan_gym.worlds.gym_snapshots import snapshot_kind

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # classic-control envs render through pygame: no window
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MUJOCO_GL", "egl")  # MuJoCo envs render headless

Expert = Callable[[Any], Any]


def action_names(
    space: gym.Space, names: Sequence[str] | Mapping[str, Sequence[float]] | None
) -> dict[str, Any]:
    """Language name -> env action: the names given (a list for ``Discrete``, a mapping to vectors for ``Box``)
    or generic ones. ``ValueError`` for names that do not fit the space."""
    if isinstance(space, gym.spaces.Discrete):
        n, start = int(space.n), int(space.start)
        if names is None:
            names = [f"action {i}" for i in range(n)]
        if isinstance(names, Mapping) or len(names) != n:
            raise ValueError(f"a Discrete({n}) env needs a list of {n} action names, got {names!r}")
        table = {normalize_action(name): start + i for i, name in enumerate(names)}
    elif isinstance(space, gym.spaces.Box) and np.isfinite(space.low).all() and np.isfinite(space.high).all():
        low, high = space.low.astype(np.float64).ravel(), space.high.astype(np.float64).ravel()
        if names is None:
            names = {"no action": (low + high) / 2}
            for d in range(low.size):
                for end, value in (("low", low[d]), ("high", high[d])):
                    vec = (low + high) / 2
                    vec[d] = value
                    names[f"action {d} {end}"] = vec
        if not isinstance(names, Mapping):
            raise ValueError(f"a Box env needs named bins, {{name: action vector}}, got {names!r}")
        table = {}
        for name, vec in names.items():
            vec = np.asarray(vec, dtype=space.dtype).reshape(space.shape)
            if not space.contains(vec):
                raise ValueError(
                    f"action bin {name!r} = {vec.tolist()} lies outside the action space {space}"
                )
            table[normalize_action(name)] = vec
    else:
        raise ValueError(f"GymWorld takes Discrete or bounded Box action spaces, not {space}")
    if len(table) != len(names) or not all(table):
        raise ValueError(f"action names must be distinct and non-empty, got {list(names)}")
    return table


class GymWorld:
    """A Gymnasium env behind language actions (see the module docstring).

    Args:
        env: a Gymnasium id (made with ``render_mode="rgb_array"``) or an env made with it.
        actions: names of the env's actions (``Discrete``) or named bins (``Box``); None: generic names.
        paraphrases / heldout: ``{name: [phrasings]}`` for the train and held-out splits; None: the names alone.
        mission: the language goal reported at reset (the reward head is conditioned on it).
        steps_per_action / frames_per_action: primitive steps one language action runs, and frames in its chunk.
        image_size: side of the square frames.
        expert: a callable ``observation -> env action`` or an SB3 model, for expert collection.
        success: ``"reward"`` (a terminated episode whose last step paid a positive reward reached its goal) or
            ``"survive"`` (termination is failure, as a pole falling; lasting the episode is success).
        env_kwargs: keywords for ``gym.make`` when ``env`` is an id.
    """

    def __init__(
        self,
        env: str | gym.Env,
        actions: Sequence[str] | Mapping[str, Sequence[float]] | None = None,
        *,
        paraphrases: Mapping[str, Sequence[str]] | None = None,
        heldout: Mapping[str, Sequence[str]] | None = None,
        mission: str | None = None,
        steps_per_action: int = 1,
        frames_per_action: int = 4,
        image_size: int = 64,
        expert: Expert | Any | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        success: str = "reward",
    ) -> None:
        if success not in ("reward", "survive"):
            raise ValueError(f"success must be 'reward' or 'survive', got {success!r}")
        self.success_by_survival = success == "survive"
        self._init = {k: v for k, v in locals().items() if k not in ("self", "env", "__class__")}
        if isinstance(env, str):
            self.env = gym.make(env, render_mode="rgb_array", **dict(env_kwargs or {}))
        else:
            self.env = env
        if self.env.render_mode != "rgb_array":
            raise ValueError(f"GymWorld needs render_mode='rgb_array', the env has {self.env.render_mode!r}")
        if steps_per_action < 1 or frames_per_action < 1:
            raise ValueError("steps_per_action and frames_per_action must be >= 1")
        env_id = self.env.spec.id if self.env.spec is not None else type(self.env.unwrapped).__name__
        self.name = f"gym:{env_id}"
        self.mission = mission if mission is not None else f"play {env_id}"
        self.frame_shape = (image_size, image_size, 3)
        self.frames_per_action, self.steps_per_action = frames_per_action, steps_per_action
        self._table = action_names(self.env.action_space, actions)
        self._phrases = {
            split: self._phrasebook(book, split)
            for split, book in (("train", paraphrases), ("heldout", heldout))
        }
        self._parse = {
            normalize_action(p): a for split in self._phrases.values() for a, ps in split.items() for p in ps
        }
        self._expert, self._obs, self._rng = expert, None, np.random.default_rng()
        self._snapshot = snapshot_kind(self.env)
        self._check_restore()

    def _phrasebook(self, book: Mapping[str, Sequence[str]] | None, split: Split) -> dict[str, list[str]]:
        book = dict(book or {})
        unknown = set(map(normalize_action, book)) - set(self._table)
        if unknown:
            raise ValueError(
                f"{split} paraphrases name unknown actions {sorted(unknown)}; actions: {list(self._table)}"
            )
        out = {a: ([a] if split == "train" else []) for a in self._table}
        for name, phrasings in book.items():
            out[normalize_action(name)] += [
                normalize_action(p)
                for p in phrasings
                if normalize_action(p) not in out[normalize_action(name)]
            ]
        return out if split == "train" else {a: ps for a, ps in out.items() if ps}

    # ---- episode ------------------------------------------------------------------------------------------------
    def _frame(self) -> np.ndarray:
        frame = np.asarray(self.env.render())
        if frame.ndim != 3 or frame.shape[-1] != 3:
            raise ValueError(
                f"{self.name}: render() gave shape {frame.shape}, expected an RGB image (H, W, 3)"
            )
        size = self.frame_shape[0]
        interp = cv2.INTER_AREA if min(frame.shape[:2]) >= size else cv2.INTER_NEAREST
        return cv2.resize(np.ascontiguousarray(frame, dtype=np.uint8), (size, size), interpolation=interp)

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is None:
            seed = int(self._rng.integers(2**31 - 1))
        self._obs, _ = self.env.reset(seed=seed)
        self.env.action_space.seed(seed)
        return self._frame(), {"mission": self.mission}

    def step(self, action: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        name = self.canonical(action)
        frames, total, terminated, truncated = [], 0.0, False, False
        for _ in range(self.steps_per_action):
            self._obs, reward, terminated, truncated, _ = self.env.step(self._table[name])
            frames.append(self._frame())
            total += float(reward)
            if terminated or truncated:
                break
        chunk = np.stack(frames)[chunk_indices(len(frames), self.frames_per_action)]  # (T, H, W, 3)
        info = {"mission": self.mission, "action": name, "kind": "agent"}
        if terminated:
            info["success"] = not self.success_by_survival and total > 0
        return chunk, total, bool(terminated), bool(truncated), info

    def canonical(self, text: str) -> str:
        """The action name a phrasing stands for; ``ValueError`` with examples when it names none."""
        key = normalize_action(text)
        if key not in self._parse:
            raise ValueError(f"{self.name}: unknown action {text!r}; actions: {list(self._table)[:8]}")
        return self._parse[key]

    # ---- language -----------------------------------------------------------------------------------------------
    def actions(self, kind: ActionKind = "all") -> list[str]:
        if kind not in ("agent", "environment", "all"):
            raise ValueError(f"kind must be 'agent', 'environment' or 'all', got {kind!r}")
        return [] if kind == "environment" else list(self._table)

    def paraphrases(self, split: Split = "train") -> dict[str, list[str]]:
        if split not in self._phrases:
            raise ValueError(f"unknown split {split!r}; expected 'train' or 'heldout'")
        return {a: list(ps) for a, ps in self._phrases[split].items()}

    def action_template(self, action: str) -> str:
        return self.canonical(action)

    def env_action(self, action: str) -> Any:
        """The env action a language action sends (an int, or a vector for Box spaces)."""
        return copy.deepcopy(self._table[self.canonical(action)])

    @property
    def observation(self) -> Any:
        """The env's latest raw observation (what an expert or a probe reads)."""
        return self._obs

    # ---- expert -------------------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name == "expert_action" and self.__dict__.get("_expert") is not None:
            return self._expert_action
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def _expert_action(self, rng: np.random.Generator, **_: Any) -> str:
        """The named action nearest to what the expert does in the current observation."""
        act = (
            self._expert.predict(self._obs, deterministic=True)[0]
            if hasattr(self._expert, "predict")
            else self._expert(self._obs)
        )
        vec = np.asarray(act, dtype=np.float64).ravel()
        return min(
            self._table,
            key=lambda a: float(np.sum((np.asarray(self._table[a], np.float64).ravel() - vec) ** 2)),
        )

    # ---- state --------------------------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"sim": self._snapshot.get(self.env), "obs": copy.deepcopy(self._obs)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._snapshot.set(self.env, state["sim"])
        self._obs = copy.deepcopy(state["obs"])

    def _check_restore(self) -> None:
        """A restored state must give identical frames for the same action; else tell the user what to do."""
        self.reset(seed=0)
        snap, action = self.get_state(), next(iter(self._table))
        first = self.step(action)[0]
        self.set_state(snap)
        if not np.array_equal(self.step(action)[0], first):
            raise ValueError(
                f"{self.name}: a restored snapshot ({self._snapshot.name}) does not reproduce the env's frames; "
                "write a World with get_state/set_state of its own (docs/your_own_world.md)"
            )
        self.reset(seed=0)

    def close(self) -> None:
        self.env.close()

    def __deepcopy__(self, memo: dict) -> GymWorld:
        """A new world over a new env of the same spec, in the same state (an env's renderer cannot be copied)."""
        if self.env.spec is None:
            raise TypeError(f"{self.name}: an env made without gym.make has no spec to build a copy from")
        twin = GymWorld(gym.make(self.env.spec, render_mode="rgb_array"), **self._init)
        twin.set_state(copy.deepcopy(self.get_state(), memo))
        return twin


def options_from_text(text: str) -> dict[str, Any]:
    """``GymWorld`` keywords from the CLI's ``--actions``: comma-separated names (``"push left,push right"``), named
    bins (``"push left=-2,push right=2"``, vectors as ``name=[0.5,-1]``), or a ``.json`` / ``.toml`` file holding
    a list of names, a mapping of bins, or a table of keywords (``actions``, ``paraphrases``, ``heldout``,
    ``mission``, ``steps_per_action``, ``frames_per_action``, ``success``).

    Example:
        >>> options_from_text("push left=-2,push right=2")
        {'actions': {'push left': [-2.0], 'push right': [2.0]}}
    """
    import json
    import re
    from pathlib import Path

    path = Path(text)
    if path.suffix in (".json", ".toml") and path.is_file():
        if path.suffix == ".json":
            data = json.loads(path.read_text())
        else:
            import tomllib

            data = tomllib.loads(path.read_text())
        known = {
            "actions",
            "paraphrases",
            "heldout",
            "mission",
            "steps_per_action",
            "frames_per_action",
            "success",
        }
        if isinstance(data, dict) and set(data) <= known and "actions" in data:
            return dict(data)
        return {"actions": data}
    items = [s.strip() for s in re.split(r",(?![^\[]*\])", text) if s.strip()]
    if not items:
        raise ValueError(
            "--actions is empty: give names such as 'push left,push right', or a .json/.toml file"
        )
    if all("=" not in s for s in items):
        return {"actions": items}
    bins = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--actions mixes names and bins: {item!r} has no '=value'")
        try:
            vec = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(
                f"--actions: the bin {name.strip()!r} has no number or [vector]: {value!r}"
            ) from None
        bins[name.strip()] = [float(v) for v in (vec if isinstance(vec, list) else [vec])]
    return {"actions": bins}
