"""Collect episodes of (frames, action text, reward, done) from a world into memory-mapped TensorDicts.

Layout of ``OUT/episode_000123/`` (one episode, S action steps, chunks of T frames of H×W×3):

- a memory-mapped TensorDict (``TensorDict.load_memmap(dir)``) with ``first_frame`` uint8 (H, W, 3) (after reset),
  ``frames`` uint8 (S, T, H, W, 3), ``rewards`` float32 (S,), ``terminated`` bool (S,), ``truncated`` bool (S,)
  (the world's time limit, or the collector's ``max_steps`` cap on the last step), ``is_env_event`` bool (S,);
- ``episode.json``: ``actions`` (S phrased texts, as fed to the model), ``canonical_actions`` (S), ``mission``,
  ``seed``, ``world``, ``policy``, ``level`` (when the world reports one). (TensorDict itself owns ``meta.json``.)

Atomic commits: an episode is written into ``OUT/.tmp-episode_…`` and renamed to its final name only when complete,
so a collection killed at any moment leaves only whole episodes; a rerun deletes stale temp dirs and collects the
missing indices. Episode i uses seed ``seed + i`` (world reset and policy/phrasing RNG), so reruns reproduce and
evaluation can use a disjoint range: training data uses ``--seed 0`` (seeds 0 … N-1); keep eval seeds ≥ 1,000,000.

Example:
    >>> import tempfile
    >>> stats = collect("babyai", episodes=2, out=tempfile.mkdtemp(), policy="expert", progress=False)
    >>> stats.episodes
    2
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from tensordict import TensorDict
from tqdm import tqdm

from pan_gym.cli_errors import exit_on
from pan_gym.data.policies import Policy, make_policy
from pan_gym.worlds import ACTIONS_HELP, configure_world, make_world
from pan_gym.worlds.base import World
from pan_gym.worlds.language import PhrasingSampler

EPISODE_RE = re.compile(r"episode_(\d{6})")
TMP_PREFIX = ".tmp-"


def episode_dir(out: Path, index: int) -> Path:
    return out / f"episode_{index:06d}"


def committed_episodes(out: str | Path) -> list[Path]:
    """Committed episode directories under ``out``, sorted by index (temp dirs never match)."""
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and EPISODE_RE.fullmatch(p.name))


@dataclass
class CollectStats:
    """What one ``collect`` call added: episodes, action steps, frames, wall-clock seconds."""

    episodes: int = 0
    steps: int = 0
    frames: int = 0
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_episode(
    world: World, policy: Policy, seed: int, max_steps: int, sampler: PhrasingSampler
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Play one episode: arrays (first_frame (H,W,3), frames (S,T,H,W,3), per-step flags (S,)) and its metadata."""
    rng = np.random.default_rng([seed, 0xC011EC7])
    first, info = world.reset(seed=seed)
    frames, rewards, term, trunc, env_event, phrased, canonical = [], [], [], [], [], [], []
    for _ in range(max_steps):
        action = policy(world, rng)
        text = sampler.phrase(action, rng)
        chunk, reward, terminated, truncated, step_info = world.step(text)
        frames.append(chunk)
        rewards.append(reward)
        term.append(terminated)
        trunc.append(truncated)
        env_event.append(step_info.get("kind") == "environment")
        phrased.append(text)
        canonical.append(step_info.get("action", action))
        if terminated or truncated:
            break
    else:
        trunc[-1] = True  # the collector's cap ends the episode
    arrays = {
        "first_frame": first,  # (H, W, 3)
        "frames": np.stack(frames),  # (S, T, H, W, 3)
        "rewards": np.asarray(rewards, np.float32),  # (S,)
        "terminated": np.asarray(term, bool),
        "truncated": np.asarray(trunc, bool),
        "is_env_event": np.asarray(env_event, bool),
    }
    meta = {"actions": phrased, "canonical_actions": canonical, "mission": info["mission"], "seed": seed}
    if "level" in info:
        meta["level"] = info["level"]
    return arrays, meta


def write_episode(out: Path, index: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write into a temp dir, then ``os.rename`` it to ``episode_{index:06d}``: the atomic commit."""
    tmp = out / f"{TMP_PREFIX}episode_{index:06d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    td = TensorDict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, batch_size=[])
    td.memmap_(tmp)
    (tmp / "episode.json").write_text(json.dumps(meta))
    final = episode_dir(out, index)
    os.rename(tmp, final)
    return final


def collect(
    world: str | World = "babyai",
    episodes: int = 100,
    out: str | Path = "data/babyai",
    policy: str = "mixed",
    seed: int = 0,
    max_steps: int = 20,
    progress: bool = True,
    world_kwargs: dict[str, Any] | None = None,
    event_prob: float | None = None,
    macro_prob: float | None = None,
) -> CollectStats:
    """Collect episodes ``0 … episodes-1`` into ``out``, skipping those already committed (resumable)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    todo = [i for i in range(episodes) if not episode_dir(out, i).exists()]
    stats = CollectStats()
    if not todo:
        return stats
    w = make_world(world, **(world_kwargs or {})) if isinstance(world, str) else world
    pol = make_policy(policy, event_prob, macro_prob)
    sampler = PhrasingSampler(w.paraphrases("train"))
    start = time.perf_counter()
    bar = tqdm(
        total=episodes,
        initial=episodes - len(todo),
        unit="ep",
        disable=not progress,
        desc=f"collect {w.name}",
    )
    for i in todo:
        arrays, meta = run_episode(w, pol, seed + i, max_steps, sampler)
        meta.update(world=w.name, policy=policy, event_prob=event_prob, macro_prob=macro_prob)
        write_episode(out, i, arrays, meta)
        stats.episodes += 1
        stats.steps += len(meta["actions"])
        stats.frames += int(np.prod(arrays["frames"].shape[:2]))
        stats.seconds = time.perf_counter() - start
        bar.set_postfix(fps=f"{stats.fps:.0f}")
        bar.update()
    bar.close()
    return stats


def register(app: Any) -> None:
    """Add the ``collect`` command to the typer app."""

    @app.command("collect")
    def collect_command(
        out: Annotated[Path, typer.Option(help="Output directory.")],
        world: Annotated[
            str, typer.Option(help="World name (babyai, metaworld, gym:<Gymnasium id>).")
        ] = "babyai",
        actions: Annotated[str | None, typer.Option(help=ACTIONS_HELP)] = None,
        episodes: Annotated[
            int, typer.Option(help="Total episodes wanted in OUT (committed ones are kept).")
        ] = 100,
        policy: Annotated[str, typer.Option(help="random | expert | mixed | macro | carry")] = "mixed",
        seed: Annotated[int, typer.Option(help="Episode i uses seed SEED + i (training data: 0).")] = 0,
        max_steps: Annotated[int, typer.Option(help="Action steps per episode at most.")] = 20,
        event_prob: Annotated[
            float | None,
            typer.Option(help="Share of environment events (default: the policy's own, mixed ≈ 0.09)."),
        ] = None,
        macro_prob: Annotated[
            float | None,
            typer.Option(help="The expert's share of whole sub-tasks per action (default 0.3), e.g. 0.9."),
        ] = None,
    ) -> None:
        """Collect episodes of (frames, action text, reward, done) as memory-mapped TensorDicts."""
        with exit_on(ValueError):
            configure_world(world, actions)
        stats = collect(
            world,
            episodes,
            out,
            policy=policy,
            seed=seed,
            max_steps=max_steps,
            event_prob=event_prob,
            macro_prob=macro_prob,
        )
        total = len(committed_episodes(out))
        typer.echo(
            f"collected {stats.episodes} episodes ({stats.steps} actions, {stats.frames} frames) in "
            f"{stats.seconds:.1f} s: {stats.fps:.0f} frames/s; {total} episodes in {out}"
        )
