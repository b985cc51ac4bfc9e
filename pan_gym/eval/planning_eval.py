"""Simulative reasoning: the success rate in the real world of a planner, and its seconds per decision.

The hook for planners (the agents issue adds CEM, propose–simulate–select, ...): ``evaluate_planner`` resets the
true world at each evaluation seed and asks the planner for an action at most ``max_steps`` times. A planner gets an
observation dict: ``frame`` uint8 (H, W, 3), ``mission`` str, ``actions`` (the agent actions valid now, canonical
text), ``past`` (a ``Past``: the episode's last ``PAST_STEPS`` actions and the true frames they ended on, which a
model simulator runs through its backbone: what the agent carries never shows in the frame) and ``world_state`` (a
snapshot of the true world, for oracle planners that simulate with the simulator itself; a model planner must not
read it). Success: the world reports the episode terminated with reward > 0
(``info["success"]`` when the world provides it), or, for a world whose goal is to last (``success_by_survival``,
e.g. CartPole), the episode reaching ``max_steps`` unterminated. PAN's own protocol allows at most 5 steps.

Goal-image planning: with ``goal_fn(world) -> Goal | None`` (``pan_gym.eval.goals.search_goal``, say), each episode's
observations also carry ``goal``, a uint8 frame of the task done; a seed whose goal cannot be found is skipped (and
listed in ``skipped``), the same seeds for every planner.

Example:
    >>> from pan_gym.worlds import make_world
    >>> r = evaluate_planner(RandomPlanner, make_world("babyai"), [1_000_000, 1_000_001], progress=False)
    >>> r["n"], 0.0 <= r["success_rate"] <= 1.0
    (2, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from pan_gym.eval.simulators import Past
from pan_gym.eval.starts import assert_disjoint
from pan_gym.eval.stats import wilson
from pan_gym.worlds.base import World


@runtime_checkable
class Planner(Protocol):
    """Chooses one language action per call from the observation dict described in the module docstring."""

    def act(self, obs: dict[str, Any]) -> str: ...


class RandomPlanner:
    """Uniformly random valid agent action (the floor every planner must beat)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng([seed, 0x9A4D])

    def act(self, obs: dict[str, Any]) -> str:
        actions = obs["actions"]
        return actions[int(self.rng.integers(len(actions)))]


# the past a planner is shown: with the decision's own round, PAN's 10 rounds of backbone history
PAST_STEPS = 9

GoalFn = Callable[[World], Any]  # world (just reset) -> a goal with ``.frame`` (H, W, 3) uint8, or None


def observation(world: World, frame: np.ndarray, mission: str, past: Past | None = None) -> dict[str, Any]:
    """A planner's observation (the module docstring): ``past`` is the episode so far (the frame alone if None)."""
    return {
        "frame": frame,
        "mission": mission,
        "actions": world.actions("agent"),
        "past": (past or Past(frame)).last(PAST_STEPS),
        "world_state": world.get_state(),
    }


def run_episode(
    planner: Planner, world: World, seed: int, max_steps: int, goal_fn: GoalFn | None = None
) -> tuple[bool, int, float] | None:
    """One episode: (success, steps taken, seconds spent in ``planner.act``); None when ``goal_fn`` finds no goal."""
    frame, info = world.reset(seed=seed)
    mission, thinking, past = info["mission"], 0.0, Past(frame)
    goal = None
    if goal_fn is not None:
        found = goal_fn(world)
        if found is None:
            return None
        goal = found.frame
    for step in range(1, max_steps + 1):
        obs = observation(world, frame, mission, past)
        if goal is not None:
            obs["goal"] = goal
        tic = time.perf_counter()
        action = planner.act(obs)
        thinking += time.perf_counter() - tic
        chunk, reward, terminated, truncated, info = world.step(action)
        frame, past = chunk[-1], past.then(info.get("action", action), chunk[-1])
        if terminated:
            return bool(info.get("success", reward > 0)), step, thinking
        if truncated:
            return bool(getattr(world, "success_by_survival", False)), step, thinking
    return bool(getattr(world, "success_by_survival", False)), max_steps, thinking


def evaluate_planner(
    planner_factory: Callable[[int], Planner],
    world: World,
    seeds: list[int],
    max_steps: int = 10,
    progress: bool = True,
    goal_fn: GoalFn | None = None,
) -> dict[str, Any]:
    """Success rate, mean steps and seconds per decision of ``planner_factory(seed)`` over ``seeds`` (those with a
    goal when ``goal_fn`` is given), with the success rate's 95 % Wilson interval."""
    assert_disjoint(seeds)
    wins, steps, seconds, skipped = [], [], 0.0, []
    for seed in tqdm(seeds, desc="planning", disable=not progress, leave=False):
        episode = run_episode(planner_factory(seed), world, seed, max_steps, goal_fn)
        if episode is None:
            skipped.append(seed)
            continue
        ok, n, t = episode
        wins.append(ok)
        steps.append(n)
        seconds += t
    return {
        "n": len(wins),
        "seeds": list(seeds),
        "max_steps": max_steps,
        "success_rate": float(np.mean(wins)) if wins else None,
        "mean_steps": float(np.mean(steps)) if steps else None,
        "success_interval": list(wilson(int(sum(wins)), len(wins))) if wins else None,
        "seconds_per_decision": seconds / max(sum(steps), 1),
        "skipped": skipped,
    }
