"""``ProposeSimulateSelect``: PAN's simulative-reasoning loop (arXiv 2511.09057, §planning).

At each step a *proposer* offers k candidate actions, the world model *simulates* each one n times (different
sampling noise; the candidate keeps its best sample — "best of n"), a *scorer* rates the simulations and the best
candidate is *selected* and executed in the real world; at most S steps (PAN: k = 3, S = 5).

- proposer: ``proposer(obs, k) -> list[str]``. Default ``MissionProposer``: the world's valid actions
  (``obs["actions"]``) ranked by word overlap with the mission text (PAN uses a VLM here). ``RandomProposer``
  draws k valid actions at random (it makes the simulate-and-select part do all the work).
- simulator: ``ModelSimulator`` (the world model) or ``OracleSimulator`` (the true world, to measure the model's
  cost); all k·n simulations go through one batched call.
- scorer: ``scorer(rollouts, mission) -> (k·n,)``; default the discounted return of the simulator's reward
  (the model's reward head conditioned on the mission, or its goal-latent distance when the simulator was built
  with ``reward="goal"``).
- lookahead (``depth`` > 1): a beam search. The ``beam`` best sequences that have not terminated are extended by
  the proposer's k actions (it sees the sequence so far as ``obs["plan"]``) and simulated again from the start,
  up to ``depth`` actions; each first action is worth the best score of any sequence it begins, and the best one is
  executed (MPC: the search starts afresh after each real step).

Example:
    >>> from pan_gym.worlds import make_world
    >>> from agents.simulators import OracleSimulator
    >>> world = make_world("babyai"); frame, info = world.reset(seed=1_000_002)   # "go to the green box"
    >>> obs = {"frame": frame, "mission": info["mission"], "actions": world.actions("agent"),
    ...        "world_state": world.get_state()}
    >>> MissionProposer()(obs, 3)
    ['go to the green box', 'pick up the green box', 'go to the green key']
    >>> ProposeSimulateSelect(OracleSimulator("babyai"), k=3).act(obs) in ("go to the green box", "pick up the green box")
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from agents.simulators import ScoreFn, Simulator, returns

Proposer = Callable[[dict[str, Any], int], list[str]]
_STOP = {"the", "a", "an", "to", "of", "it", "you", "your", "on", "in", "up", "next"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


class MissionProposer:
    """The k valid actions sharing the most words with the mission (ties keep the world's listing order)."""

    def __call__(self, obs: dict[str, Any], k: int) -> list[str]:
        actions, mission = list(obs["actions"]), _words(str(obs.get("mission", "")))
        overlap = [-len(_words(a) & mission) for a in actions]
        order = sorted(range(len(actions)), key=lambda i: (overlap[i], i))
        return [actions[i] for i in order[:k]]


class RandomProposer:
    """k distinct valid actions drawn uniformly."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng([seed, 0x960])

    def __call__(self, obs: dict[str, Any], k: int) -> list[str]:
        actions = list(obs["actions"])
        return [actions[i] for i in self.rng.permutation(len(actions))[:k]]


class ProposeSimulateSelect:
    """Propose k actions, simulate each n times, select the best-scored one (see the module docstring).

    Args:
        simulator: where candidates are simulated (``ModelSimulator`` or ``OracleSimulator``).
        proposer: ``(obs, k) -> candidates``; default ``MissionProposer()``.
        k: candidates per step.
        n: samples per candidate (best of n); n > 1 only differs for a decoding (not latent-only) model.
        scorer: ``(rollouts, mission) -> scores (k·n,)``; default discounted return.
        max_steps: S, the real-world step budget this loop is meant for (``run_episode`` default).
        seed: breaks ties between equally scored candidates.
        depth: actions looked ahead (1: PAN's one-step loop).
        beam: sequences extended at each depth of the lookahead (default k).
    """

    def __init__(
        self,
        simulator: Simulator,
        proposer: Proposer | None = None,
        k: int = 3,
        n: int = 1,
        scorer: ScoreFn | None = None,
        max_steps: int = 5,
        seed: int = 0,
        depth: int = 1,
        beam: int | None = None,
    ) -> None:
        if k < 1 or n < 1 or max_steps < 1 or depth < 1 or (beam is not None and beam < 1):
            raise ValueError("need k, n, max_steps, depth and beam >= 1")
        self.simulator, self.proposer = simulator, proposer or MissionProposer()
        self.k, self.n, self.scorer, self.max_steps = k, n, scorer, max_steps
        self.depth, self.beam = depth, beam or k
        self.rng = np.random.default_rng([seed, 0x955])
        self.last: dict[str, Any] = {}  # the last decision: candidates, their scores, the best sequence

    def _propose(self, obs: dict[str, Any], plan: list[str]) -> list[str]:
        return list(dict.fromkeys(self.proposer({**obs, "plan": plan} if plan else obs, self.k)))

    def _scores(self, sequences: list[list[str]], mission: str) -> tuple[np.ndarray, np.ndarray]:
        """Best-of-n score (S,) and whether each sequence terminated (S,), all S·n rollouts in one batched call."""
        ro = self.simulator.simulate([s for s in sequences for _ in range(self.n)])
        scores = np.asarray(self.scorer(ro, mission) if self.scorer else returns(ro), np.float64)
        done = ro.terminated.any(axis=1).reshape(len(sequences), self.n).any(axis=1)
        return scores.reshape(len(sequences), self.n).max(axis=1), done

    def act(self, obs: dict[str, Any]) -> str:
        candidates = self._propose(obs, [])
        if not candidates:
            raise ValueError("the proposer returned no candidate actions")
        self.simulator.begin(obs)
        mission = str(obs.get("mission", ""))
        sequences = [[a] for a in candidates]
        value = np.full(len(candidates), -np.inf)  # (k,) the best score of any sequence each candidate begins
        best: tuple[float, list[str]] = (-np.inf, [])
        for d in range(self.depth):
            scores, done = self._scores(sequences, mission)
            first = np.array([candidates.index(s[0]) for s in sequences])
            np.maximum.at(value, first, scores)
            if d == 0:
                self.last = {"candidates": candidates, "scores": scores.tolist()}
            i = int(scores.argmax())
            if scores[i] > best[0]:
                best = (float(scores[i]), sequences[i])
            open_rows = [i for i in np.argsort(-scores, kind="stable") if not done[i]][: self.beam]
            if d + 1 == self.depth or not open_rows:
                break
            sequences = [sequences[i] + [a] for i in open_rows for a in self._propose(obs, sequences[i])]
        top = np.flatnonzero(value == value.max())
        choice = int(top[0] if len(top) == 1 else self.rng.choice(top))
        self.last.update(values=value.tolist(), plan=best[1])
        return candidates[choice]
