"""``MPC``: receding-horizon control around any planner, and the real-world episode loop.

At every decision: plan from the real observation (the planner's simulator re-encodes the real frame), execute the
first action in the real world, observe, repeat. With ``warm_start`` the rest of the previous plan seeds the next
search (``planner.plan(obs, init=previous[1:])``); planners without ``plan`` are asked for ``act`` only.

``MPC`` is itself a planner (``act(obs) -> str``), so it plugs into ``pan_gym.eval.planning_eval.evaluate_planner``;
``run_episode`` runs one real-world episode and can keep the frames for a video.

Example:
    >>> from pan_gym.worlds import make_world
    >>> from agents.cem import CEMPlanner
    >>> from agents.simulators import OracleSimulator
    >>> mpc = MPC(CEMPlanner(OracleSimulator("babyai"), horizon=2, samples=16, iterations=2))
    >>> ep = run_episode(mpc, make_world("babyai"), seed=1_000_002, max_steps=5)
    >>> ep["success"], ep["steps"]       # "go to" or "pick up" the green box: both reach it
    (True, 1)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

# the planner observation (``pan_gym.eval.planning_eval.observation``), re-exported
from pan_gym.eval.planning_eval import observation as observe
from pan_gym.eval.simulators import Past


class MPC:
    """Plan, execute the first action, re-plan from the next real observation.

    Args:
        planner: anything with ``plan(obs, init=None) -> list[str]`` (preferred) or ``act(obs) -> str``.
        warm_start: pass the unexecuted rest of the previous plan as ``init``.
    """

    def __init__(self, planner: Any, warm_start: bool = True) -> None:
        self.planner, self.warm_start = planner, warm_start
        self._rest: list[str] = []

    def reset(self) -> None:
        self._rest = []

    def act(self, obs: dict[str, Any]) -> str:
        if hasattr(self.planner, "plan"):
            plan = self.planner.plan(obs, init=self._rest if self.warm_start else None)
        else:
            plan = [self.planner.act(obs)]
        self._rest = list(plan[1:])
        return plan[0]


def run_episode(
    planner: Any, world: Any, seed: int, max_steps: int = 5, record: bool = False
) -> dict[str, Any]:
    """One real-world episode (the same loop as ``pan_gym.eval.planning_eval.run_episode``).

    Returns ``success``, ``steps``, ``seconds`` (spent deciding), ``actions``, ``mission`` and, with ``record``,
    ``frames`` uint8 (N, H, W, 3): the start frame then every real chunk."""
    if hasattr(planner, "reset"):
        planner.reset()
    frame, info = world.reset(seed=seed)
    mission, past = info["mission"], Past(frame)
    frames: list[np.ndarray] = [frame[None]] if record else []
    actions: list[str] = []
    seconds, success = 0.0, False
    for _ in range(max_steps):
        obs = observe(world, frame, mission, past)
        tic = time.perf_counter()
        action = planner.act(obs)
        seconds += time.perf_counter() - tic
        chunk, reward, terminated, truncated, info = world.step(action)
        actions.append(action)
        if record:
            frames.append(chunk)
        frame, past = chunk[-1], past.then(info.get("action", action), chunk[-1])
        if terminated or truncated:
            success = bool(terminated and info.get("success", reward > 0))
            break
    out = {
        "success": success,
        "steps": len(actions),
        "seconds": seconds,
        "actions": actions,
        "mission": mission,
    }
    if record:
        out["frames"] = np.concatenate(frames)
    return out


def evaluate(
    planner_factory: Any, world: Any, seeds: Sequence[int], max_steps: int = 5, progress: bool = False
) -> dict[str, Any]:
    """``pan_gym.eval.planning_eval.evaluate_planner`` (the project's hook: seeds checked disjoint from training)."""
    from pan_gym.eval.planning_eval import evaluate_planner

    return evaluate_planner(planner_factory, world, list(seeds), max_steps=max_steps, progress=progress)
