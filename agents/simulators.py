"""Simulators for planning: the world model or the true world as the planner's model (``pan_gym.eval.simulators``,
the one simulator protocol the evaluation scores too), and how planners score what they simulate.

A planner imagines with a simulator: ``begin(obs)`` starts from the planner's observation dict (the one
``pan_gym.eval.planning_eval`` passes: ``frame``, ``mission``, ``actions``, ``world_state``), and
``simulate(sequences)`` rolls out N equal-length sequences of language actions from that start, all together
(one batched model call per step of the horizon):

- ``ModelSimulator``: the world model, open loop from the real frame, with the env's rewards (``reward="model"``:
  the learned head on ŝ conditioned on the mission; ``"goal"``: the negative latent distance to a goal frame; or a
  callable). Planners run it latent-only (the reward head reads ŝ only; skipping the decoder is ~10× faster).
- ``OracleSimulator``: the true world replayed from ``obs["world_state"]``, to measure what the model costs.

A planner in a real-world loop (``agents.mpc``) re-encodes the real observation at every decision, so the model's
history is one frame long at each decision (fine for GoTo/PickUp missions; the frame does not show what the agent
carries).

Scores: ``returns(rollouts)`` sums the discounted rewards up to and including the first termination.

Example:
    >>> from pan_gym.worlds import make_world
    >>> world = make_world("babyai"); frame, info = world.reset(seed=1_000_002)
    >>> obs = {"frame": frame, "mission": info["mission"], "actions": world.actions("agent"),
    ...        "world_state": world.get_state()}
    >>> sim = OracleSimulator("babyai"); sim.begin(obs)
    >>> ro = sim.simulate([["go to the green box"], ["turn left"]])
    >>> ro.rewards.shape, bool(returns(ro)[0] > 0), float(returns(ro)[1])
    ((2, 1), True, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pan_gym.eval.simulators import (
    ModelSimulator,
    OracleSimulator,
    Rollouts,
    Simulator,
    check_sequences,
    returns,
)

__all__ = [
    "ModelSimulator",
    "OracleSimulator",
    "Rollouts",
    "ScoreFn",
    "Simulator",
    "check_sequences",
    "returns",
]

ScoreFn = Callable[[Rollouts, str], np.ndarray]  # (rollouts, mission) -> scores (N,)
