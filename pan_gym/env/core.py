"""The env core: N imagined rollouts of one ``PanWorldModel``, stepped together with batched model calls.

``PanWorldModelEnv`` is its one-row view; ``PanWorldModelVectorEnv`` adds truncation and same-step autoreset. Both
take ``Imagination``'s keywords, documented once here.

Rows live in *cohorts*: rows whose rollouts were started together share one batched ``RolloutState`` (one KV
cache, one Swin-DPM window). A step runs the backbone once per cohort, then the decoder, the expensive part, once
per window layout across all cohorts (at most two calls: rows on their first chunk, rows continuing), then the
reward once. Rows restarted together form a new cohort (rows of different ages have histories of different
lengths, so they cannot share a KV cache); cohorts whose histories come to the same layout batch together again.

A step completes for every row or changes nothing: the action texts are checked first (the one check they get),
and a failure in the model (non-finite values), the reward head or a reward callable restores every rollout and
the noise generator before it propagates.

Example:
    >>> import numpy as np
    >>> core = Imagination(2, model="tiny", world=None)
    >>> rows = core.parse_options({"observation": np.zeros((64, 64, 3), np.uint8), "mission": "go"})
    >>> obs, infos = core.reset(np.random.default_rng(0), rows)
    >>> obs, rewards, terminated, infos = core.step(["turn left", "go forward"])
    >>> obs["frames"].shape, rewards.shape, infos[1]["action"]
    ((2, 2, 64, 64, 3), (2,), 'go forward')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pan_gym.env import spaces as S
from pan_gym.env.models import resolve_model, with_precision
from pan_gym.env.rewards import Rewarder, RewardFn
from pan_gym.model.glp import RolloutState

Obs = dict[str, np.ndarray]
RESET_OPTIONS = ("observation", "mission", "goal")


def make_world_arg(world):
    """``world``: a World, a world name (``"babyai"``), or None (reset then needs ``options["observation"]``)."""
    if world is None or not isinstance(world, str):
        return world
    from pan_gym.worlds import make_world

    return make_world(world)


@dataclass
class Cohort:
    """Rows started together: ``rows`` are env indices in the order of ``state``'s batch rows."""

    rows: list[int]
    state: RolloutState


def _per_row(value: Any, n: int, name: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"options[{name!r}] holds {len(value)} entries for {n} sub-environments")
        return list(value)
    return [value] * n


class CoreView:
    """What both envs show of their core: ``model``, ``world`` and the noise ``generator``."""

    core: Imagination

    @property
    def model(self):
        return self.core.model

    @property
    def world(self):
        return self.core.world

    @property
    def generator(self) -> torch.Generator:
        """The sampling noise's ``torch.Generator``, reseeded from ``np_random`` at every reset."""
        return self.core.generator


class Imagination:
    """N imagined rollouts of one model (see the module docstring).

    Args:
        num_rows: how many rollouts.
        model: a ``PanWorldModel``, a local directory, a preset name (``"tiny"``, ``"small"``), or None for the
            model shipped for ``default_model``.
        world: where start states come from: a World, a world name, or None (reset then needs an observation).
        reward: ``"model"`` (learned head, default), ``"goal"`` (latent distance to ``options["goal"]``) or a
            callable ``reward_fn(obs, action, info) -> reward | (reward, terminated)``; ``reward_fn`` is an alias.
        latent_only: step the backbone only (``frames`` has shape (0, H, W, 3)): fast planning.
        default_model: the shipped model ``model=None`` means (``"babyai"``, ``"metaworld"``).
        termination_threshold: the learned head's termination probability above which an episode ends.
        goal_threshold: ``reward="goal"``: the latent distance below which an episode ends (never if None).
        precision: ``"fp32"``, ``"bf16"`` (autocast) or ``"bf16-weights"`` (a bf16 copy of the model): see
            ``pan_gym.env.models.with_precision``.
    """

    def __init__(
        self,
        num_rows: int,
        model=None,
        world=None,
        *,
        reward: str | RewardFn = "model",
        reward_fn: RewardFn | None = None,
        latent_only: bool = False,
        default_model: str | None = None,
        termination_threshold: float = 0.5,
        goal_threshold: float | None = None,
        precision: str = "fp32",
    ):
        if not isinstance(num_rows, int) or num_rows < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_rows!r}")
        self.model, self.precision = with_precision(resolve_model(model, default_model), precision)
        self.world = make_world_arg(world)
        self.rewarder = Rewarder(self.model, reward_fn or reward, termination_threshold, goal_threshold)
        n, cfg = num_rows, self.model.cfg
        self.num_rows, self.latent_only = n, latent_only
        self.size, self.chunk = cfg.image_size, (0 if latent_only else cfg.frames_per_chunk)
        self.state_shape = tuple(self.model.backbone.queries.shape)  # (Q, D)
        self.generator = torch.Generator(device="cpu")
        self.cohorts: list[Cohort] | None = None  # None before the first reset
        self.steps = np.zeros(n, np.int64)
        self.missions, self.goals = [""] * n, [None] * n
        self.world_infos: list[dict] = [{} for _ in range(n)]
        self.options: list[dict] = [{} for _ in range(n)]  # each row's reset options, kept for its restarts
        self.last = np.zeros((n, self.size, self.size, 3), np.uint8)  # each row's latest frame

    def observation_space(self):
        """One row's observation space: ``frames`` uint8 (T, H, W, 3), ``state`` float32 (Q, D)."""
        return S.observation_space(self.chunk, self.size, *self.state_shape)

    @property
    def started(self) -> bool:
        return self.cohorts is not None

    # ---- reset ------------------------------------------------------------------------------------------------
    def parse_options(self, options: dict | None) -> list[dict]:
        """Reset options, checked whole, as one dict per row: ``observation`` a frame (H, W, 3) for every row or
        (N, H, W, 3); ``mission`` a str or N strs; ``goal`` a frame or latent, or N of them. Changes nothing."""
        options, n = dict(options or {}), self.num_rows
        unknown = set(options) - set(RESET_OPTIONS)
        if unknown:
            raise ValueError(
                f"unknown reset options {sorted(unknown)}; known: {', '.join(map(repr, RESET_OPTIONS))}"
            )
        rows: list[dict] = [{} for _ in range(n)]
        if "observation" in options:
            for row, frame in zip(rows, S.to_frames(options["observation"], self.size, n), strict=True):
                row["observation"] = frame
        if "mission" in options:
            for row, mission in zip(rows, _per_row(options["mission"], n, "mission"), strict=True):
                row["mission"] = S.check_mission(mission)
        if options.get("goal") is not None:
            goal = options["goal"]
            goals = goal if isinstance(goal, (list, tuple)) else [goal] * n
            for row, g in zip(rows, _per_row(goals, n, "goal"), strict=True):
                row["goal"] = self.rewarder.goal_latent(g)
        if self.rewarder.mode == "goal" and any("goal" not in r for r in rows):
            raise ValueError("reward='goal' needs reset(options={'goal': frame (H, W, 3) or latent (D,)})")
        if self.world is None and any("observation" not in r for r in rows):
            raise ValueError("this env has no world: pass reset(options={'observation': frame(s)})")
        return rows

    def reset(self, np_random: np.random.Generator, options: list[dict]) -> tuple[Obs, list[dict]]:
        """Start every row afresh with ``parse_options``' rows; the noise generator is reseeded from ``np_random``."""
        self.options = options
        self.generator.manual_seed(int(np_random.integers(2**62)))
        cohort, obs, infos = self._start(list(range(self.num_rows)), np_random)
        self.cohorts = [cohort]
        return obs, infos

    def restart(self, rows: list[int], np_random: np.random.Generator) -> tuple[Obs, list[dict]]:
        """Start ``rows`` afresh (with their reset options) while the other rows go on."""
        gone, kept = set(rows), []
        for c in self.cohorts:
            stay = [j for j, i in enumerate(c.rows) if i not in gone]
            if len(stay) == len(c.rows):
                kept.append(c)
            elif stay:
                kept.append(Cohort([c.rows[j] for j in stay], c.state.select(stay)))
        fresh, obs, infos = self._start(rows, np_random)
        self.cohorts = kept + [fresh]
        self._merge_cohorts()
        return obs, infos

    def _start(self, rows: list[int], np_random: np.random.Generator) -> tuple[Cohort, Obs, list[dict]]:
        """Fresh rollouts for ``rows`` (one batched model call): their cohort, observations and infos."""
        frames, infos = [], []
        for i in rows:
            opts = self.options[i]
            if "observation" in opts:
                frame, world_info = opts["observation"], {}
            else:
                raw, world_info = self.world.reset(seed=int(np_random.integers(2**31 - 1)))
                frame = S.to_frame(raw, self.size, "world frame")
            self.missions[i] = opts.get("mission", str(world_info.get("mission", "")))
            self.goals[i], self.steps[i], self.last[i] = opts.get("goal"), 0, frame
            self.world_infos[i] = dict(world_info)
            frames.append(frame)
            info = {"mission": self.missions[i], "step": 0}
            if world_info:  # the world's own reset info (its task, a goal it drew)
                info["world"] = dict(world_info)
            infos.append(info)
        stacked = np.stack(frames)  # (b, H, W, 3)
        with self.precision():
            state = self.model.start(torch.from_numpy(stacked))
        obs = {
            "frames": np.repeat(stacked[:, None], self.chunk, axis=1),  # (b, T, H, W, 3): the start frame
            "state": np.zeros((len(rows), *self.state_shape), np.float32),  # nothing predicted yet
        }
        return Cohort(rows, state), obs, infos

    # ---- step -------------------------------------------------------------------------------------------------
    def step(self, actions: Sequence[str]) -> tuple[Obs, np.ndarray, np.ndarray, list[dict]]:
        """One action per row -> observations, rewards (N,) float32, terminated (N,) bool, N infos."""
        texts = [S.check_action(a) for a in actions]
        marks, gen_state = [c.state.mark() for c in self.cohorts], self.generator.get_state()
        try:
            with self.precision():
                s_hat = self._predict(texts)  # (N, Q, D)
                frames, vis = (None, None) if self.latent_only else self._decode()
                rewards, terminated = self.rewarder.batch(s_hat, vis, self.missions, self.goals)
            obs = {
                "frames": np.zeros((self.num_rows, 0, self.size, self.size, 3), np.uint8)
                if frames is None
                else frames.cpu().numpy(),  # (N, T, H, W, 3)
                "state": s_hat.float().cpu().numpy(),
            }
            infos = [
                {"mission": m, "step": int(s) + 1, "action": a}
                for m, s, a in zip(self.missions, self.steps, texts, strict=True)
            ]
            if self.rewarder.fn is not None:
                for i, info in enumerate(infos):
                    row = {k: v[i] for k, v in obs.items()}
                    rewards[i], terminated[i] = self.rewarder.call(
                        row, texts[i], info, rewards[i], terminated[i]
                    )
        except Exception:
            for c, mark in zip(self.cohorts, marks, strict=True):
                c.state.restore(mark)
            self.generator.set_state(gen_state)
            raise
        self.steps += 1
        if frames is not None:
            self.last = obs["frames"][:, -1].copy()
        self._merge_cohorts()
        return obs, rewards.astype(np.float32), terminated, infos

    def _predict(self, texts: list[str]) -> torch.Tensor:
        """The backbone once per cohort -> ŝ (N, Q, D) in row order."""
        s_hat = None
        for c in self.cohorts:
            s = self.model.predict(c.state, [texts[i] for i in c.rows])  # (b, Q, D)
            s_hat = s.new_zeros((self.num_rows, *s.shape[1:])) if s_hat is None else s_hat
            s_hat[c.rows] = s
            if self.latent_only:
                c.state.pending = None  # as model.step(decode=False): the next round uses the no-frame slot
        return s_hat

    def _decode(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder once per window layout across cohorts -> frames (N, T, H, W, 3), h(ô) (N, N_vis, D)."""
        groups: dict[tuple, list[tuple[Cohort, RolloutState]]] = {}
        for c in self.cohorts:
            part = c.state.decoding_part()
            groups.setdefault(part.layout_key(), []).append((c, part))
        frames, vis = None, None
        for members in groups.values():
            merged = RolloutState.cat([p for _, p in members])
            out = self.model.decode(merged, self.generator)  # (b, T, H, W, 3); raises on non-finite values
            if frames is None:
                frames = out.new_zeros((self.num_rows, *out.shape[1:]))
                vis = merged.vis.new_zeros((self.num_rows, *merged.vis.shape[1:]))
            start = 0
            for c, _ in members:
                k = len(c.rows)
                part = merged if len(members) == 1 else merged.select(range(start, start + k))
                c.state.swin, c.state.vis, c.state.pending = part.swin, part.vis, None
                frames[c.rows], vis[c.rows] = out[start : start + k], merged.vis[start : start + k]
                start += k
        return frames, vis

    def _merge_cohorts(self) -> None:
        """Cohorts whose histories have come to the same layout (capped histories cycle) batch together again."""
        if len(self.cohorts) < 2:
            return
        by_key: dict[tuple, list[Cohort]] = {}
        for c in self.cohorts:
            by_key.setdefault(c.state.layout_key(), []).append(c)
        self.cohorts = [
            cs[0]
            if len(cs) == 1
            else Cohort([i for c in cs for i in c.rows], RolloutState.cat([c.state for c in cs]))
            for cs in by_key.values()
        ]
