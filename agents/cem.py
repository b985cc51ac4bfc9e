"""``CEMPlanner``: the cross-entropy method over sequences of language actions from a menu.

A categorical distribution per step of the horizon, p (H, M) over the M actions of the menu (the actions valid now,
``obs["actions"]``, unless a fixed ``menu`` is given), starts uniform (or biased toward a warm-start plan). Each
iteration samples ``samples`` sequences, evaluates all of them in one batched ``simulator.simulate`` call (one
model call per step of the horizon), keeps the ``elites`` best by score and moves p toward their action
frequencies: ``p ← (1 − α)·p + α·freq`` (α = ``alpha``). The plan is the best sequence seen in any iteration.

Scores: ``returns`` of the simulated rewards (the env's reward head conditioned on the mission with the model, the
world's true reward with the oracle), or any ``score_fn(rollouts, mission) -> (N,)``.

Example:
    >>> from pan_gym.worlds import make_world
    >>> from agents.simulators import OracleSimulator
    >>> world = make_world("babyai"); frame, info = world.reset(seed=1_000_002)   # "go to the green box"
    >>> obs = {"frame": frame, "mission": info["mission"], "actions": world.actions("agent"),
    ...        "world_state": world.get_state()}
    >>> CEMPlanner(OracleSimulator("babyai"), horizon=2, samples=32).act(obs)
    'go to the green box'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.simulators import ScoreFn, Simulator, returns


class CEMPlanner:
    """Categorical CEM over language-action sequences (see the module docstring).

    Args:
        simulator: a ``ModelSimulator`` or ``OracleSimulator`` (anything with ``begin``/``simulate``).
        horizon: H, actions per candidate sequence.
        samples: N, candidate sequences per iteration (one batched simulation).
        iterations: CEM iterations per decision.
        elites: K, best candidates that refit the distribution.
        alpha: step size toward the elites' frequencies (1 = replace).
        warm_start: probability mass put on a warm-start plan's actions (``plan(obs, init=...)``, as ``MPC`` passes).
        menu: a fixed menu of actions; None = ``obs["actions"]`` at each decision.
        score_fn: ``(rollouts, mission) -> scores (N,)``; None = discounted return up to the first termination.
        gamma: discount of the default score (prefers reaching the goal sooner).
        seed: seeds the sampling.
    """

    def __init__(
        self,
        simulator: Simulator,
        horizon: int = 3,
        samples: int = 64,
        iterations: int = 3,
        elites: int = 8,
        alpha: float = 0.7,
        warm_start: float = 0.5,
        menu: Sequence[str] | None = None,
        score_fn: ScoreFn | None = None,
        gamma: float = 0.99,
        seed: int = 0,
    ) -> None:
        if min(horizon, samples, iterations, elites) < 1 or elites > samples:
            raise ValueError("need horizon, samples, iterations >= 1 and 1 <= elites <= samples")
        if not 0 < alpha <= 1 or not 0 <= warm_start < 1:
            raise ValueError("need 0 < alpha <= 1 and 0 <= warm_start < 1")
        self.simulator, self.horizon, self.samples = simulator, horizon, samples
        self.iterations, self.elites, self.alpha, self.warm_start = iterations, elites, alpha, warm_start
        self.menu = None if menu is None else list(menu)
        self.score_fn, self.gamma = score_fn, gamma
        self.rng = np.random.default_rng([seed, 0xCE3])
        self.last: dict[str, Any] = {}  # diagnostics of the last plan: best score, final distribution

    def plan(self, obs: dict[str, Any], init: Sequence[str] | None = None) -> list[str]:
        """The best action sequence (length ``horizon``) found from ``obs``; ``init`` warm-starts the search."""
        menu = self.menu if self.menu is not None else list(obs["actions"])
        if not menu:
            raise ValueError("CEMPlanner has no actions: pass menu=[...] or obs['actions']")
        m, h = len(menu), self.horizon
        probs = np.full((h, m), 1.0 / m)  # (H, M)
        for t, a in enumerate(list(init or [])[:h]):
            if a in menu:
                probs[t] *= 1 - self.warm_start
                probs[t, menu.index(a)] += self.warm_start
        self.simulator.begin(obs)
        best_seq, best_score = None, -np.inf
        for _ in range(self.iterations):
            idx = np.stack([self.rng.choice(m, size=self.samples, p=probs[t]) for t in range(h)], 1)  # (N, H)
            seqs = [[menu[j] for j in row] for row in idx]
            ro = self.simulator.simulate(seqs)
            scores = self.score_fn(ro, obs.get("mission", "")) if self.score_fn else returns(ro, self.gamma)
            scores = np.asarray(scores, np.float64).reshape(self.samples)
            # ties (e.g. every sequence scoring 0 with the oracle) are broken at random, not by sample order
            order = np.lexsort((self.rng.random(self.samples), -scores))
            if scores[order[0]] > best_score:
                best_score, best_seq = float(scores[order[0]]), seqs[order[0]]
            elite = idx[order[: self.elites]]  # (K, H)
            freq = np.stack([np.bincount(elite[:, t], minlength=m) / self.elites for t in range(h)])
            probs = (1 - self.alpha) * probs + self.alpha * freq
        self.last = {"score": best_score, "probs": probs, "menu": menu}
        return list(best_seq)

    def act(self, obs: dict[str, Any]) -> str:
        """The first action of ``plan(obs)`` (the ``pan_gym.eval`` planner interface)."""
        return self.plan(obs)[0]
