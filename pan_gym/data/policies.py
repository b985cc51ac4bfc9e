"""Behaviour policies for data collection: each maps (world, rng) to a canonical language action.

- ``random``: forward-biased random agent actions, plus an environment event with probability ``event_prob``.
  The action is drawn in two stages, a template (weighted by ``template_weights``, default 1) then one of its
  instances uniformly, so e.g. 290 "a <color> <obj> appears <place>" variants do not swamp the other events.
- ``expert``: the world's scripted expert (``world.expert_action(rng, ...)``: BabyAI's bot solving the mission,
  Meta-World's scripted policy running the mission), with rare environment events.
- ``macro``: the random policy with most weight on the multi-cell actions ("go to the red ball", "pick up the
  blue key", any object in the room, not just the mission's), for a data set rich in them.
- ``carry``: the random policy weighted so that an object is picked up, carried a few steps and dropped (a drop
  follows its pick-up after about three actions): what the agent holds never shows in the frame, so these windows
  are where the backbone's history is the only way to draw the drop.
- ``mixed``: every step, the expert with probability ``expert_prob``, otherwise the random policy; the expert
  replans from wherever the random steps led.

Example:
    >>> import numpy as np
    >>> from pan_gym.worlds import make_world
    >>> world, rng = make_world("babyai"), np.random.default_rng(0)
    >>> _ = world.reset(seed=0)
    >>> make_policy("mixed")(world, rng) in world.actions("all")
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from pan_gym.worlds.base import World

Policy = Callable[[World, np.random.Generator], str]

# Forward bias, by canonical template (BabyAI's names; templates a world lacks are ignored).
FORWARD_BIAS: dict[str, float] = {"move forward": 4.0, "move forward {n} steps": 2.0, "turn {side}": 3.0}
# Multi-cell bias: walking to and picking up objects dominates; turns and steps keep poses varied.
MACRO_BIAS: dict[str, float] = {
    "go to the {color} {obj}": 4.0,
    "pick up the {color} {obj}": 4.0,
    "drop it": 4.0,
    "turn {side}": 2.0,
}
# Carry bias: pick up, a few local moves, drop (the gap between them is what the backbone's history must bridge).
CARRY_BIAS: dict[str, float] = {
    "pick up the {color} {obj}": 6.0,
    "drop it": 4.0,
    "turn {side}": 3.0,
    "move forward": 2.0,
}


def _pick_grouped(
    world: World, actions: list[str], rng: np.random.Generator, weights: Mapping[str, float]
) -> str:
    """Draw a template by weight, then one of its actions uniformly."""
    template_of = getattr(world, "action_template", None)
    if template_of is None:
        return actions[int(rng.integers(len(actions)))]
    groups: dict[str, list[str]] = {}
    for a in actions:
        groups.setdefault(template_of(a), []).append(a)
    names = list(groups)
    w = np.array([weights.get(n, 1.0) for n in names])
    group = groups[names[int(rng.choice(len(names), p=w / w.sum()))]]
    return group[int(rng.integers(len(group)))]


@dataclass
class RandomPolicy:
    """Forward-biased random agent actions; an environment event with probability ``event_prob``."""

    event_prob: float = 0.15
    template_weights: Mapping[str, float] = field(default_factory=lambda: dict(FORWARD_BIAS))

    def __call__(self, world: World, rng: np.random.Generator) -> str:
        actions = world.actions("environment") if rng.random() < self.event_prob else []
        if not actions:
            actions = world.actions("agent")
        return _pick_grouped(world, actions, rng, self.template_weights)


@dataclass
class ExpertPolicy:
    """The world's scripted expert; ``macro_prob`` of whole sub-tasks in one action, rare environment events."""

    macro_prob: float = 0.3
    event_prob: float = 0.05

    def __call__(self, world: World, rng: np.random.Generator) -> str:
        expert = getattr(world, "expert_action", None)
        if expert is None:
            raise ValueError(f"world {world.name!r} has no expert_action(); use --policy random")
        return expert(rng, macro_prob=self.macro_prob, event_prob=self.event_prob)


@dataclass
class MixedPolicy:
    """Per step: the expert with probability ``expert_prob``, else the random policy."""

    expert_prob: float = 0.6
    expert: ExpertPolicy = field(default_factory=ExpertPolicy)
    random: RandomPolicy = field(default_factory=RandomPolicy)

    def __call__(self, world: World, rng: np.random.Generator) -> str:
        return (self.expert if rng.random() < self.expert_prob else self.random)(world, rng)


POLICIES: dict[str, Callable[[], Policy]] = {
    "random": RandomPolicy,
    "expert": ExpertPolicy,
    "mixed": MixedPolicy,
    "macro": lambda: RandomPolicy(event_prob=0.1, template_weights=dict(MACRO_BIAS)),
    "carry": lambda: RandomPolicy(event_prob=0.05, template_weights=dict(CARRY_BIAS)),
}


def make_policy(name: str, event_prob: float | None = None, macro_prob: float | None = None) -> Policy:
    """``random``, ``expert``, ``mixed``, ``macro`` or ``carry`` with default settings; ``event_prob`` (0–1) sets the share of
    environment events of every part (a mixed policy then has that share overall), ``macro_prob`` (0–1) the
    expert's share of whole sub-tasks in one action ("go to the red ball" instead of its primitive steps)."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {sorted(POLICIES)}")
    pol = POLICIES[name]()
    for label, p in (("event_prob", event_prob), ("macro_prob", macro_prob)):
        if p is not None and not 0.0 <= p <= 1.0:
            raise ValueError(f"{label} must be within [0, 1], got {p}")
    parts = (pol.expert, pol.random) if isinstance(pol, MixedPolicy) else (pol,)
    for part in parts:
        if event_prob is not None:
            part.event_prob = event_prob
        if macro_prob is not None and isinstance(part, ExpertPolicy):
            part.macro_prob = macro_prob
    return pol
