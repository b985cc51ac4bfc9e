"""``PanWorldModelVectorEnv``: N imagined rollouts stepped with batched model calls, same-step autoreset.

The sub-envs live in *cohorts*: rows whose rollouts were started together share one batched ``RolloutState``
(one KV cache, one Swin-DPM window). A step runs the backbone once per cohort, then the decoder — the expensive
part — once per window layout across all cohorts (at most two calls: rows on their first chunk, rows continuing),
then the reward head once. When sub-envs finish, their rows leave their cohort and restart together as a new
cohort (rows of different ages have histories of different lengths, so they cannot share a KV cache); while no
sub-env finishes, or all finish together, every step is one backbone call and one decoder call.

Finished sub-envs are reset in the same step (``AutoresetMode.SAME_STEP``): ``infos["final_obs"]`` and
``infos["final_info"]`` hold what the finished episode's last step returned. ``reset`` options (``observation``:
a frame or (N, H, W, 3); ``mission``: a str or N strs; ``goal``: one or N goals) stick to their sub-envs for later
autoresets; sub-envs without them draw start states from the world.

Example:
    >>> import numpy as np
    >>> envs = PanWorldModelVectorEnv(3, model="tiny", world=None, max_episode_steps=2)
    >>> obs, infos = envs.reset(seed=0, options={"observation": np.zeros((64, 64, 3), np.uint8), "mission": "go"})
    >>> obs, rewards, terminated, truncated, infos = envs.step(["turn left", "go forward", "turn right"])
    >>> obs["frames"].shape, rewards.shape
    ((3, 2, 64, 64, 3), (3,))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from pan_gym.env import spaces as S
from pan_gym.env.batching import Rollback, cat_rows, layout_key, select_rows
from pan_gym.env.models import resolve_model, with_precision
from pan_gym.env.rewards import Rewarder, RewardFn
from pan_gym.env.world_model_env import Obs, check_reset_options, make_world_arg
from pan_gym.model.backbone import BackboneCache
from pan_gym.model.glp import RolloutState


@dataclass
class Cohort:
    rows: list[int]  # sub-env indices, in the order of the rollout's batch rows
    state: RolloutState


def _per_row(value: Any, n: int, name: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"options[{name!r}] holds {len(value)} entries for {n} sub-environments")
        return list(value)
    return [value] * n


class PanWorldModelVectorEnv(VectorEnv):
    """Native batched vector env over one ``PanWorldModel``; keywords as ``PanWorldModelEnv`` plus
    ``max_episode_steps`` (truncation) and ``num_envs``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int,
        model=None,
        world=None,
        *,
        reward: str | RewardFn = "model",
        reward_fn: RewardFn | None = None,
        latent_only: bool = False,
        render_mode: str | None = None,
        default_model: str | None = None,
        termination_threshold: float = 0.5,
        goal_threshold: float | None = None,
        max_episode_steps: int | None = None,
        precision: str = "fp32",
    ):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.num_envs, self.render_mode, self.latent_only = num_envs, render_mode, latent_only
        self.max_episode_steps = max_episode_steps
        self.model, self._precision = with_precision(resolve_model(model, default_model), precision)
        self.world = make_world_arg(world)
        self.rewarder = Rewarder(self.model, reward_fn or reward, termination_threshold, goal_threshold)
        cfg, (q, d) = self.model.cfg, self.model.backbone.queries.shape
        self.size, self.chunk = cfg.image_size, (0 if latent_only else cfg.frames_per_chunk)
        self.single_action_space = S.action_space()
        self.single_observation_space = S.observation_space(self.chunk, self.size, q, d)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.generator = torch.Generator(device="cpu")
        self._cohorts: list[Cohort] | None = None
        n = num_envs
        self._steps = np.zeros(n, np.int64)
        self._missions, self._goals = [""] * n, [None] * n
        self._sticky: list[dict] = [{} for _ in range(n)]
        self._last = np.zeros((n, self.size, self.size, 3), np.uint8)

    # ---- reset --------------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be one int (it seeds the whole batch) or None, got {seed!r}")
        options, n = check_reset_options(options), self.num_envs
        sticky = [{} for _ in range(n)]
        if "observation" in options:
            for i, f in enumerate(S.to_frames(options["observation"], self.size, n)):
                sticky[i]["observation"] = f
        if "mission" in options:
            for i, m in enumerate(_per_row(options["mission"], n, "mission")):
                sticky[i]["mission"] = S.check_mission(m)
        if options.get("goal") is not None:
            goal = options["goal"]
            goals = goal if isinstance(goal, (list, tuple)) else [goal] * n
            for i, g in enumerate(_per_row(goals, n, "goal")):
                sticky[i]["goal"] = self.rewarder.goal_latent(g)
        if self.rewarder.mode == "goal" and any("goal" not in s for s in sticky):
            raise ValueError("reward='goal' needs reset(options={'goal': frame (H, W, 3) or latent (D,)})")
        if self.world is None and any("observation" not in s for s in sticky):
            raise ValueError("this env has no world: pass reset(options={'observation': frame(s)})")
        super().reset(seed=seed)
        self._sticky = sticky
        self.generator.manual_seed(int(self.np_random.integers(2**62)))
        rows = list(range(n))
        cohort, obs, infos = self._start(rows)
        self._cohorts = [cohort]
        return obs, infos

    def _start(self, rows: list[int]) -> tuple[Cohort, Obs, dict]:
        """Start fresh rollouts for ``rows`` (one batched model call); returns their cohort, obs and infos."""
        frames, infos = [], {}
        for i in rows:
            st = self._sticky[i]
            if "observation" in st:
                frame, info = st["observation"], {}
            else:
                raw, info = self.world.reset(seed=int(self.np_random.integers(2**31 - 1)))
                frame = S.to_frame(raw, self.size, "world frame")
            self._missions[i] = st.get("mission", str(info.get("mission", "")))
            self._goals[i], self._steps[i], self._last[i] = st.get("goal"), 0, frame
            frames.append(frame)
        with self._precision():
            state = self.model.start(torch.from_numpy(np.stack(frames)))
        q, d = self.single_observation_space["state"].shape
        obs = {
            "frames": np.repeat(np.stack(frames)[:, None], self.chunk, axis=1),  # (b, T, H, W, 3)
            "state": np.zeros((len(rows), q, d), np.float32),
        }
        for i in rows:
            infos = self._add_info(infos, {"mission": self._missions[i], "step": 0}, i)
        return Cohort(rows, state), obs, infos

    # ---- step ---------------------------------------------------------------------------------------------------
    def _check_actions(self, actions) -> list[str]:
        """A list, tuple or 1-D array of ``num_envs`` str, in sub-env order (sets and dicts have no such order)."""
        ordered = isinstance(actions, (list, tuple)) or (
            isinstance(actions, np.ndarray) and actions.ndim == 1
        )
        if not ordered or len(actions) != self.num_envs:
            raise ValueError(
                f"actions must be a list or tuple of {self.num_envs} str, one per sub-env in order; "
                f"got {type(actions).__name__} {actions!r:.80}"
            )
        return [S.check_action(a if not isinstance(a, np.str_) else str(a)) for a in actions]

    def _decode(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder call per window layout across cohorts; returns frames (N, T, H, W, 3), h(ô) (N, N_vis, D)."""
        groups: dict[tuple, list[tuple[Cohort, RolloutState]]] = {}
        for c in self._cohorts:
            part = RolloutState(BackboneCache(), c.state.swin, None, pending=c.state.pending)
            groups.setdefault(layout_key(part), []).append((c, part))
        frames, vis = None, None
        for members in groups.values():
            merged = cat_rows([p for _, p in members])
            out = self.model.decode(merged, self.generator)  # (b, T, H, W, 3); raises on non-finite frames
            if frames is None:
                frames = out.new_zeros((n, *out.shape[1:]))
                vis = merged.vis.new_zeros((n, *merged.vis.shape[1:]))
            start = 0
            for c, _ in members:
                k = len(c.rows)
                part = merged if len(members) == 1 else select_rows(merged, range(start, start + k))
                c.state.swin, c.state.vis, c.state.pending = part.swin, part.vis, None
                frames[c.rows], vis[c.rows] = out[start : start + k], merged.vis[start : start + k]
                start += k
        return frames, vis

    def step(self, actions) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._cohorts is None:
            raise RuntimeError("step() called before reset(): call envs.reset() first")
        texts, n = self._check_actions(actions), self.num_envs
        undo, gen_state = [Rollback(c.state) for c in self._cohorts], self.generator.get_state()
        try:
            with self._precision():
                s_hat = None
                for c in self._cohorts:
                    s = self.model.predict(c.state, [texts[i] for i in c.rows])  # (b, Q, D)
                    s_hat = s.new_zeros((n, *s.shape[1:])) if s_hat is None else s_hat
                    s_hat[c.rows] = s
                if self.latent_only:
                    frames, vis = None, None
                    for c in self._cohorts:
                        # as model.step(decode=False): the next round uses the no-frame slot
                        c.state.pending = None
                else:
                    frames, vis = self._decode(n)
                rewards, terminated = self.rewarder.batch(s_hat, vis, self._missions, self._goals)
        except Exception:
            for u in undo:
                u.restore()
            self.generator.set_state(gen_state)
            raise
        self._steps += 1
        obs = {
            "frames": np.zeros((n, 0, self.size, self.size, 3), np.uint8)
            if frames is None
            else frames.cpu().numpy(),
            "state": s_hat.float().cpu().numpy(),
        }
        if frames is not None:
            self._last = obs["frames"][:, -1].copy()
        infos: dict = {}
        for i in range(n):
            info = {"mission": self._missions[i], "step": int(self._steps[i]), "action": texts[i]}
            if self.rewarder.fn is not None:
                row = {k: v[i] for k, v in obs.items()}
                rewards[i], terminated[i] = self.rewarder.call(row, texts[i], info, rewards[i], terminated[i])
            infos = self._add_info(infos, info, i)
        truncated = (
            self._steps >= self.max_episode_steps if self.max_episode_steps else np.zeros(n, bool)
        ) & ~terminated
        done = np.flatnonzero(terminated | truncated).tolist()
        if done:
            obs, infos = self._autoreset(done, obs, infos)
        if len(self._cohorts) > 1:
            self._merge_cohorts()
        return obs, rewards.astype(np.float32), terminated, truncated, infos

    def _autoreset(self, done: list[int], obs: Obs, infos: dict) -> tuple[Obs, dict]:
        for i in done:
            final = {k: v[i].copy() for k, v in obs.items()}
            final_info = {k: v[i] for k, v in infos.items() if not k.startswith("_") and infos[f"_{k}"][i]}
            infos = self._add_info(infos, {"final_obs": final, "final_info": final_info}, i)
        gone = set(done)
        kept = []
        for c in self._cohorts:
            stay = [j for j, i in enumerate(c.rows) if i not in gone]
            if len(stay) == len(c.rows):
                kept.append(c)
            elif stay:
                kept.append(Cohort([c.rows[j] for j in stay], select_rows(c.state, stay)))
        fresh, new_obs, new_infos = self._start(done)
        self._cohorts = kept + [fresh]
        for k in ("frames", "state"):
            obs[k][done] = new_obs[k]
        for i in done:
            infos = self._add_info(infos, {k: v[i] for k, v in new_infos.items() if not k.startswith("_")}, i)
        return obs, infos

    def _merge_cohorts(self) -> None:
        """Cohorts whose histories have come to the same layout (capped histories cycle) batch together again."""
        by_key: dict[tuple, list[Cohort]] = {}
        for c in self._cohorts:
            by_key.setdefault(layout_key(c.state), []).append(c)
        self._cohorts = [
            cs[0]
            if len(cs) == 1
            else Cohort([i for c in cs for i in c.rows], cat_rows([c.state for c in cs]))
            for cs in by_key.values()
        ]

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(self._last.copy())

    def close_extras(self, **kwargs) -> None:
        if self.world is not None and hasattr(self.world, "close"):
            self.world.close()

    @property
    def num_cohorts(self) -> int:
        """How many separately batched backbone histories there are (1 while all sub-envs are in step)."""
        return 0 if self._cohorts is None else len(self._cohorts)
