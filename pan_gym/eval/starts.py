"""Evaluation seeds and start states, disjoint from the training data's seeds.

Training data is collected with ``pan-gym collect --seed 0``: episode i uses seed i, so training seeds live in
``TRAIN_SEEDS`` = [0, 1,000,000). Evaluation seeds start at ``EVAL_SEED_BASE`` = 1,000,000 and every evaluation
checks ``assert_disjoint`` before it runs. A start state is the world after ``reset(seed)`` and a few seeded random
actions drawn as a user meets them (``listing_action``: so the agent is not always where levels put it, and some
starts carry an object or have a door); a warm-up step that would end the episode is undone, so no start state is
terminal.

Example:
    >>> from pan_gym.worlds import make_world
    >>> seeds = eval_seeds(2)
    >>> seeds
    [1000000, 1000001]
    >>> starts = start_states(make_world("babyai"), seeds)
    >>> starts[0].frame.shape, starts[0].seed
    ((64, 64, 3), 1000000)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pan_gym.eval.simulators import Past
from pan_gym.worlds.base import World

TRAIN_SEEDS = range(0, 1_000_000)
EVAL_SEED_BASE = 1_000_000
# The primitive walk by canonical template (BabyAI's names): forward-biased single steps, the second long-horizon
# figure. Worlds without these templates walk uniformly over their agent actions.
WALK_WEIGHTS: dict[str, float] = {"move forward": 4.0, "turn {side}": 3.0}


def eval_seeds(n: int, offset: int = 0, base: int = EVAL_SEED_BASE) -> list[int]:
    """``n`` consecutive evaluation seeds from ``base + offset``, checked disjoint from ``TRAIN_SEEDS``."""
    seeds = list(range(base + offset, base + offset + n))
    assert_disjoint(seeds)
    return seeds


def assert_disjoint(seeds: Iterable[int], train: range = TRAIN_SEEDS) -> None:
    """Raise ``ValueError`` if any evaluation seed is a training seed."""
    bad = [s for s in seeds if s in train]
    if bad:
        raise ValueError(f"evaluation seeds overlap the training seeds {train}: {bad[:5]}")


def pick_action(
    world: World, actions: list[str], rng: np.random.Generator, weights: Mapping[str, float] | None = None
) -> str:
    """Draw a template (by ``weights``; uniformly over the templates present when None), then one of its actions.

    Only templates named in ``weights`` are drawn; worlds without ``action_template`` (or with none of the weighted
    templates among ``actions``) draw uniformly from ``actions``.
    """
    template_of = getattr(world, "action_template", None)
    groups: dict[str, list[str]] = {}
    if template_of is not None:
        for a in actions:
            t = template_of(a)
            if weights is None or t in weights:
                groups.setdefault(t, []).append(a)
    if not groups:
        return actions[int(rng.integers(len(actions)))]
    names = list(groups)
    w = np.array([1.0 if weights is None else weights[n] for n in names])
    group = groups[names[int(rng.choice(len(names), p=w / w.sum()))]]
    return group[int(rng.integers(len(group)))]


def walk_action(world: World, rng: np.random.Generator, weights: Mapping[str, float] = WALK_WEIGHTS) -> str:
    """A forward-biased random agent action (``pick_action`` over ``world.actions("agent")`` by ``weights``)."""
    return pick_action(world, world.actions("agent"), rng, weights)


def listing_action(world: World, rng: np.random.Generator) -> str:
    """An action as a user meets them: a template drawn uniformly from the world's whole listing
    (``world.actions("all")``: agent actions and environment events), then one of its actions."""
    return pick_action(world, world.actions("all"), rng)


@dataclass
class StartState:
    """One evaluation start: its seed, the frame (H, W, 3) uint8, the world snapshot, the mission, and the past
    that led there from the reset (a simulator may read it: what the agent carries does not show in the frame; the
    frame alone when not given)."""

    seed: int
    frame: np.ndarray
    state: Any
    mission: str
    past: Past | None = None

    def __post_init__(self) -> None:
        if self.past is None:
            self.past = Past(self.frame)


def start_states(world: World, seeds: list[int], max_warmup: int = 3) -> list[StartState]:
    """Reset at each seed, then take 0…``max_warmup`` seeded steps drawn from the whole listing
    (``listing_action``; undoing any that ends the episode), so start states also carry objects and have doors."""
    assert_disjoint(seeds)
    out = []
    for seed in seeds:
        rng = np.random.default_rng([seed, 0xE7A1])
        frame, info = world.reset(seed=seed)
        past = Past(frame.copy())
        for _ in range(int(rng.integers(max_warmup + 1))):
            snap, action = world.get_state(), listing_action(world, rng)
            chunk, _, terminated, truncated, info2 = world.step(action)
            if terminated or truncated:
                world.set_state(snap)
                break
            frame, info = chunk[-1], info2
            past = past.then(info.get("action", action), frame.copy())
        out.append(StartState(seed, frame.copy(), world.get_state(), info["mission"], past))
    return out
