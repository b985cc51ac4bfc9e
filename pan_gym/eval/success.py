"""Success detection: does a simulator's reward say "done" exactly when the true world reaches the mission?

This is what a planner relies on. Held-out episodes (seeds from 1,000,000) are played in the true world by a data
policy; every step becomes one case: the true frame before the action, the action (the world's canonical text,
as planners choose it from the listing), the mission, and whether the world reported success on that step. The
simulator starts at the true frame and imagines the action, as a planner's first imagined step does; its
termination (for the model: the reward head's, at the env's threshold) is the prediction.

Precision: of the steps it calls a success, the share that are. Recall: of the true successes, the share it
calls. Both with 95 % Wilson intervals; the mean imagined reward on successes and on the other steps beside them;
all of it also per mission family (``by_mission``: "go to", "pick up", "put", "open").

Example:
    >>> from pan_gym.eval.simulators import OracleSimulator
    >>> from pan_gym.worlds import make_world
    >>> cases = success_cases(make_world("babyai"), [1_000_000, 1_000_001], policy="expert")
    >>> sum(c.success for c in cases) >= 1                  # the expert reaches its missions
    True
    >>> r = success_detection(OracleSimulator("babyai"), cases)
    >>> r["precision"]["value"], r["recall"]["value"]       # the true world detects itself
    (1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pan_gym.data.policies import make_policy
from pan_gym.eval.starts import assert_disjoint
from pan_gym.eval.stats import proportion
from pan_gym.worlds.base import World


@dataclass
class SuccessCase:
    """One step of a held-out episode."""

    frame: np.ndarray  # (H, W, 3) uint8, the true frame before the action
    state: Any  # the world's state before the action (what the oracle replays)
    action: str
    mission: str
    success: bool  # the world reported success on this step


def success_cases(
    world: World, seeds: Sequence[int], policy: str | None = None, max_steps: int = 40
) -> list[SuccessCase]:
    """Every step of one episode per seed, played by a data policy (``pan_gym.data.policies``; default ``mixed``
    where the world has a scripted expert, else ``random``)."""
    assert_disjoint(seeds)
    if policy is None:
        policy = "mixed" if getattr(world, "expert_action", None) is not None else "random"
    pol, cases = make_policy(policy), []
    for seed in seeds:
        rng = np.random.default_rng([seed, 0x5CCE55])
        frame, info = world.reset(seed=seed)
        mission = str(info.get("mission", ""))
        for _ in range(max_steps):
            state, action = world.get_state(), pol(world, rng)
            chunk, reward, terminated, truncated, step_info = world.step(action)
            success = bool(step_info.get("success", terminated and reward > 0))
            cases.append(SuccessCase(frame, state, str(step_info.get("action", action)), mission, success))
            frame = chunk[-1]
            if terminated or truncated:
                break
    return cases


def success_detection(simulator: Any, cases: Sequence[SuccessCase], batch_size: int = 64) -> dict[str, Any]:
    """Precision and recall of ``simulator``'s termination as a success detector over ``cases`` (module
    docstring), in batches of ``batch_size``."""
    if not cases:
        raise ValueError("no cases to score")
    said, rewards = [], []
    for i in range(0, len(cases), batch_size):
        part = cases[i : i + batch_size]
        simulator.start(np.stack([c.frame for c in part]), [c.state for c in part], [c.mission for c in part])
        out = simulator.step([c.action for c in part])
        said.append(np.asarray(out.terminated, bool))
        rewards.append(np.asarray(out.rewards, np.float64))
    said_, reward = np.concatenate(said), np.concatenate(rewards)
    truth = np.array([c.success for c in cases])

    kinds = np.array([mission_kind(c.mission) for c in cases])
    out = _scores(said_, truth, reward)
    out["by_mission"] = {
        k: _scores(said_[kinds == k], truth[kinds == k], reward[kinds == k]) for k in sorted(set(kinds))
    }
    return out


def mission_kind(mission: str) -> str:
    """A mission's family: its words before the first article ("go to", "pick up", "put", "open")."""
    words = mission.split()
    cut = next((i for i, w in enumerate(words) if w in ("the", "a", "an")), len(words))
    return " ".join(words[:cut]) or mission


def _scores(said: np.ndarray, truth: np.ndarray, reward: np.ndarray) -> dict[str, Any]:
    tp = int((said & truth).sum())

    def mean(mask: np.ndarray) -> float | None:
        return float(reward[mask].mean()) if mask.any() else None

    return {
        "precision": proportion(tp, int(said.sum())).to_dict(),
        "recall": proportion(tp, int(truth.sum())).to_dict(),
        "n": len(truth),
        "successes": int(truth.sum()),
        "said_success": int(said.sum()),
        "reward_on_successes": mean(truth),
        "reward_elsewhere": mean(~truth),
    }
