"""Long-horizon forecast: an open-loop rollout of H actions scored step by step against the true rollout.

From each start state the true world plays H actions of a seeded random walk and the simulator is given the same
actions from the start frame and the past that led to it (it never sees a true frame after the start). Two walks
(``WALKS``):

- ``listing`` (the headline): each action drawn as a user meets them, a template uniformly from the world's whole
  listing (agent actions and environment events), then one of its actions (``starts.listing_action``);
- ``primitive``: the forward-biased walk of single steps (``starts.walk_action``: BabyAI's turns and one step
  forward; other worlds, their agent actions uniformly).

Every step of either walk changes the true frame (``metrics.changed``: a tile, or else any pixel): a drawn action
that would leave the frame as it was is undone and drawn again (up to ``MAX_REDRAWS`` times), so copying the last
frame is wrong at every step.
Where no draw changes it (a continuous world whose first push moves less than a pixel), the last draw is kept and
counted in ``unchanged_steps``.
Termination (a mission reached) does not stop a walk; the world's time limit does: each step is averaged over the
rollouts that reach it (``n_per_step``). Per step (final frame of each chunk): PSNR, SSIM and, for tiled worlds, tile
accuracy and the share of rollouts whose whole grid is right (``grid_exact``, with its counts in
``grid_exact_count``).
Smoothness (``metrics.smoothness``) is computed on the imagined and on the true video (the start frame followed by
each chunk resampled to a common T = min of both chunk lengths, PAN's definition) and, as ``per_action``, on the
start frame followed by the final frame of each chunk (BabyAI's chunks repeat frames, since a turn is one primitive
step, so most consecutive frames are equal, the median velocity is 0 and the per-frame score is degenerate);
consistency (``metrics.consistency``) is the drift of the mean per-step SSIM (and tile accuracy). Speed: wall-clock
seconds per ``simulator.step`` call (one imagined action for the whole batch) and per imagined action of one rollout
(that divided by the batch size).

Example:
    >>> from pan_gym.worlds import make_world
    >>> from pan_gym.eval.starts import eval_seeds, start_states
    >>> from pan_gym.eval.simulators import OracleSimulator
    >>> world = make_world("babyai")
    >>> starts = start_states(world, eval_seeds(2), max_warmup=0)
    >>> r = long_horizon(world, OracleSimulator("babyai"), starts, horizon=5, progress=False)
    >>> r["ssim"], r["tile_accuracy"], r["smoothness"]["per_action"]["ratio"]
    ([1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0], 1.0)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm import tqdm

from pan_gym.eval import metrics as M
from pan_gym.eval.fidelity import world_tile
from pan_gym.eval.simulators import Simulator, by_past_length
from pan_gym.eval.starts import StartState, listing_action, walk_action
from pan_gym.worlds.base import World

MIN_MOTION = 1e-3  # px/frame: below this the true video is static and a smoothness ratio means nothing
WALKS = {"listing": listing_action, "primitive": walk_action}
MAX_REDRAWS = 16  # draws per step before a walk gives up on finding an action that changes the frame


def true_rollout(
    world: World, start: StartState, horizon: int, seed: int, walk: str = "listing"
) -> tuple[list[str], np.ndarray]:
    """The walk's actions and true chunks (L, T, H, W, 3), each changing the frame where one of ``MAX_REDRAWS``
    draws does; L ≤ ``horizon`` (stops at the world's time limit)."""
    if walk not in WALKS:
        raise ValueError(f"unknown walk {walk!r}; choose one of {sorted(WALKS)}")
    draw, tile = WALKS[walk], world_tile(world)
    rng = np.random.default_rng([seed, start.seed, 0x1096, list(WALKS).index(walk)])
    world.set_state(start.state)
    frame, actions, chunks = start.frame, [], []
    for _ in range(horizon):
        before = world.get_state()
        for attempt in range(MAX_REDRAWS):
            action = draw(world, rng)
            chunk, _, _, truncated, _ = world.step(action)
            if attempt == MAX_REDRAWS - 1 or M.changed(frame, chunk[-1], tile, mse_eps=0.0):
                break  # the last draw is kept even unchanged (counted in ``unchanged_steps``)
            world.set_state(before)
        frame = chunk[-1]
        actions.append(action)
        chunks.append(chunk)
        if truncated:
            break
    return actions, np.stack(chunks)


def _video(start: np.ndarray, chunks: np.ndarray, t: int) -> np.ndarray:
    """Start frame + every chunk resampled to ``t`` frames: (1 + L·t, H, W, 3)."""
    return np.concatenate([start[None]] + [M.resample(c, t) for c in chunks])


def _nanmean(rows: list[np.ndarray], horizon: int) -> tuple[list[float | None], list[int]]:
    """Mean per step over rollouts of different lengths, and the count per step."""
    means, counts = [], []
    for t in range(horizon):
        vals = [r[t] for r in rows if len(r) > t]
        counts.append(len(vals))
        means.append(float(np.mean(vals)) if vals else None)
    return means, counts


def long_horizon(
    world: World,
    simulator: Simulator,
    starts: list[StartState],
    horizon: int = 20,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
    walk: str = "listing",
) -> dict[str, Any]:
    """Score an open-loop rollout of ``horizon`` actions of ``walk`` from every start (see the module docstring)."""
    tile = world_tile(world)
    rollouts = [
        true_rollout(world, s, horizon, seed, walk)
        for s in tqdm(starts, desc=f"{walk} walk {horizon}: true rollouts", disable=not progress, leave=False)
    ]
    psnrs, ssims, accs, exact, smooth_true, smooth_pred = [], [], [], [], [], []
    step_seconds, step_calls, step_items = 0.0, 0, 0
    example: dict[str, Any] = {}
    bar = tqdm(
        total=len(starts) * horizon, desc=f"{walk} walk {horizon}: imagine", disable=not progress, leave=False
    )
    for rows in by_past_length([s.past for s in starts], batch_size):
        group, rolls = [starts[i] for i in rows], [rollouts[i] for i in rows]
        pasts = [s.past for s in group]
        simulator.start(np.stack([s.frame for s in group]), [s.state for s in group], pasts=pasts)
        length = max(len(a) for a, _ in rolls)
        preds = []
        for t in range(length):
            # finished rollouts repeat their last action (unscored)
            acts = [a[min(t, len(a) - 1)] for a, _ in rolls]
            tic = time.perf_counter()
            preds.append(simulator.step(acts).frames)  # (B, T', H, W, 3)
            step_seconds += time.perf_counter() - tic
            step_calls, step_items = step_calls + 1, step_items + len(group)
            bar.update(len(group))
        pred = np.stack(preds, axis=1)  # (B, L, T', H, W, 3)
        for b, (s, (acts, true)) in enumerate(zip(group, rolls, strict=True)):
            n = len(acts)
            p, tr = pred[b, :n, -1], true[:, -1]  # (n, H, W, 3) final frames
            psnrs.append(M.psnr(p, tr))
            ssims.append(M.ssim(p, tr))
            if tile is not None:
                accs.append(M.tile_accuracy(p, tr, tile))
                exact.append(M.grid_exact(p, tr, tile).astype(np.float64))
            tc = min(pred.shape[2], true.shape[1])
            smooth_true.append([M.smoothness(_video(s.frame, true, k)) for k in (tc, 1)])
            smooth_pred.append([M.smoothness(_video(s.frame, pred[b, :n], k)) for k in (tc, 1)])
            if not example:
                example = {"true": tr, "pred": p, "start": s.frame, "actions": acts, "seed": s.seed}
    bar.close()
    out: dict[str, Any] = {
        "walk": walk,
        "horizon": horizon,
        "n": len(starts),
        "seeds": [s.seed for s in starts],
    }
    out["psnr"], out["n_per_step"] = _nanmean(psnrs, horizon)
    # < horizon when the world's time limit cut every rollout
    out["steps_reached"] = max(len(a) for a, _ in rollouts)
    out["unchanged_steps"] = sum(
        int(
            (~M.changed(np.concatenate([s.frame[None], true[:-1, -1]]), true[:, -1], tile, mse_eps=0.0)).sum()
        )
        for s, (_, true) in zip(starts, rollouts, strict=True)
    )
    out["ssim"], _ = _nanmean(ssims, horizon)
    out["consistency_ssim"] = M.consistency([v for v in out["ssim"] if v is not None])
    if tile is not None:
        out["tile_accuracy"], _ = _nanmean(accs, horizon)
        out["consistency_tile_accuracy"] = M.consistency([v for v in out["tile_accuracy"] if v is not None])
        # the share of rollouts whose whole grid is right at each step, and how many of how many
        out["grid_exact"], counts = _nanmean(exact, horizon)
        hits = [int(sum(r[t] for r in exact if len(r) > t)) for t in range(horizon)]
        out["grid_exact_count"] = [[k, c] for k, c in zip(hits, counts, strict=True)]
    st, sp = np.mean(smooth_true, axis=0), np.mean(smooth_pred, axis=0)  # (2,): per frame, per action
    out["smoothness"] = {
        "true": float(st[0]),
        "imagined": float(sp[0]),
        "ratio": float(sp[0] / st[0]) if st[0] > MIN_MOTION else None,
        "per_action": {
            "true": float(st[1]),
            "imagined": float(sp[1]),
            "ratio": float(sp[1] / st[1]) if st[1] > MIN_MOTION else None,
        },
    }
    out["speed"] = {
        "seconds_per_step_call": step_seconds / max(step_calls, 1),
        "seconds_per_imagined_step": step_seconds / max(step_items, 1),
        "batch_size": batch_size,
        "calls": step_calls,
    }
    out["_examples"] = example
    return out
