"""Score one trained variant: ``pan_gym.eval``'s suite, plus the long-horizon figures of every single rollout.

The suite (``run_suite``) gives fidelity and step-wise simulation (train and held-out phrasing, per kind); the
long-horizon rollouts are run here with ``eval.horizon.long_horizon`` on the suite's own horizon start states, through
a ``Recorder`` that keeps every imagined chunk, so that each rollout's per-step scores can be kept
(``per_rollout``): the confidence intervals of exactness, smoothness and consistency resample rollouts. The
long-horizon figures themselves are ``long_horizon``'s, and land where the suite puts them
(``results["simulators"][name]["horizon"][str(H)]``), so ``eval.report.write_report`` reads the result as usual.

Example:
    >>> from pan_gym.model.glp import PanWorldModel
    >>> s = EvalSettings(n_states=2, n_rollouts=2, horizon=3, progress=False)
    >>> r = evaluate_model(PanWorldModel.from_preset("tiny"), "babyai", s)
    >>> len(r["simulators"]["model"]["per_rollout"]), sorted(r["simulators"]["model"]["horizon"])
    (2, ['3'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pan_gym.eval import metrics as M
from pan_gym.eval.fidelity import world_tile
from pan_gym.eval.horizon import long_horizon, true_rollout
from pan_gym.eval.simulators import CopySimulator, Imagined, ModelSimulator, Simulator
from pan_gym.eval.starts import StartState, eval_seeds, start_states
from pan_gym.eval.suite import HORIZON_SEED_OFFSET, EvalConfig, run_suite
from pan_gym.worlds import make_world


@dataclass
class EvalSettings:
    """How much to evaluate each variant (the same for all of them)."""

    n_states: int = 64
    """start states for fidelity and step-wise simulation"""
    n_rollouts: int = 32
    """open-loop rollouts for the long-horizon figures"""
    horizon: int = 20
    """actions per rollout"""
    batch_size: int = 16
    """rollouts imagined together"""
    seed: int = 0
    """the model's sampling noise and the action draws"""
    progress: bool = False

    def __post_init__(self):
        if self.n_states < 1 or self.n_rollouts < 1:
            raise ValueError("n_states and n_rollouts must be >= 1")
        if self.horizon < 3:
            raise ValueError(f"horizon must be >= 3 actions (smoothness needs 3 frames), got {self.horizon}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recorder(Simulator):
    """Wraps a simulator and keeps what it imagines: one list of chunks (B, T, H, W, 3) per ``start``."""

    def __init__(self, inner: Simulator):
        self.inner, self.name, self.frames_per_action = inner, inner.name, inner.frames_per_action
        self.groups: list[list[np.ndarray]] = []

    def start(
        self, frames: np.ndarray, world_states: Sequence[Any] | None = None, missions=None, pasts=None
    ) -> None:
        self.inner.start(frames, world_states, missions, pasts)
        self.groups.append([])

    def step(self, actions: Sequence[str]) -> Imagined:
        out = self.inner.step(actions)
        self.groups[-1].append(out.frames)
        return out

    def rollouts(self) -> list[np.ndarray]:
        """Every rollout's chunks (L, T, H, W, 3), in the order the rollouts were started."""
        return [r for g in self.groups for r in np.stack(g, axis=1)]  # (B, L, T, H, W, 3) per group


def _video(start: np.ndarray, chunks: np.ndarray, t: int) -> np.ndarray:
    """Start frame + every chunk resampled to ``t`` frames (1 + L·t, H, W, 3), as ``eval.horizon`` builds it."""
    return np.concatenate([start[None]] + [M.resample(c, t) for c in chunks])


def per_rollout(
    world, starts: list[StartState], preds: list[np.ndarray], horizon: int, seed: int
) -> list[dict[str, Any]]:
    """Per rollout: ``grid_exact`` and ``tile_accuracy`` per step (tiled worlds), ``ssim`` per step (others),
    and PAN's smoothness of the imagined and the true video, per frame (``smooth_pred``, ``smooth_true``: chunks
    resampled to the shorter chunk length) and per action (``*_action``: the start and each chunk's final frame)."""
    tile = world_tile(world)
    rows = []
    for s, pred in zip(starts, preds, strict=True):
        acts, true = true_rollout(world, s, horizon, seed)  # the same walk long_horizon scored
        n = len(acts)
        p, tr = pred[:n, -1], true[:, -1]  # (n, H, W, 3) final frames
        row: dict[str, Any] = {"seed": s.seed, "steps": n}
        if tile is not None:
            row["grid_exact"] = M.grid_exact(p, tr, tile).astype(float).tolist()
            row["tile_accuracy"] = M.tile_accuracy(p, tr, tile).astype(float).tolist()
        else:
            row["ssim"] = M.ssim(p, tr).astype(float).tolist()
        tc = min(pred.shape[1], true.shape[1])
        for suffix, k in (("", tc), ("_action", 1)):
            row[f"smooth_pred{suffix}"] = M.smoothness(_video(s.frame, pred[:n], k))
            row[f"smooth_true{suffix}"] = M.smoothness(_video(s.frame, true, k))
        rows.append(row)
    return rows


def evaluate_model(model: Any, world_name: str, settings: EvalSettings) -> dict[str, Any]:
    """The suite's results for ``model`` (a ``PanWorldModel``) with the copy baseline, long horizon per rollout."""
    cfg = EvalConfig(
        n_states=settings.n_states,
        n_rollouts=settings.n_rollouts,
        horizons=(),  # run below, recorded
        batch_size=settings.batch_size,
        planning_episodes=0,  # planning is the agents' business, not the ablations'
        seed=settings.seed,
        progress=settings.progress,
    )
    results = run_suite(world_name, model, cfg)
    world = make_world(world_name)
    starts = start_states(world, eval_seeds(settings.n_rollouts, HORIZON_SEED_OFFSET), max_warmup=0)
    simulators = {
        "model": ModelSimulator(model, seed=settings.seed),
        "copy": CopySimulator(world.frames_per_action),
    }
    for name, simulator in simulators.items():
        rec = Recorder(simulator)
        hz = long_horizon(
            world, rec, starts, settings.horizon, settings.batch_size, settings.seed, settings.progress
        )
        scored = results["simulators"][name]
        scored["horizon"], scored["speed"] = {str(settings.horizon): hz}, hz["speed"]
        scored["per_rollout"] = per_rollout(world, starts, rec.rollouts(), settings.horizon, settings.seed)
    world.close()
    results["meta"]["config"].update(horizons=[settings.horizon], n_rollouts=settings.n_rollouts)
    results["meta"]["ablation_eval"] = settings.to_dict()
    return results
