"""Step-wise simulation (PAN: 1 true outcome + 3 distractors): can the imagined outcome be told apart?

From each start state, every agent action and up to ``max_events`` environment events are executed in the true
world (restored each time); actions are kept one per distinct final frame. Each start gives up to one item per
kind (agent action, environment event): the true action is one of that kind whose outcome differs from the start
frame (so copying cannot win), the 3 distractors are other actions (any kind) with pairwise different outcomes; a
start state with fewer than 4 distinct outcomes is skipped. The simulator simulates the true action from the start
frame; it is correct when its final frame is strictly nearer (MSE) to the true outcome than to each distractor.
Scored twice on the same items: with a train phrasing and with a held-out phrasing of the true action; accuracy
overall, per kind (``by_kind``), per template of the true action (``by_template``) and per phrasing pattern
(``by_phrasing``, e.g. ``"approach the {color} {obj}"``).

Example:
    >>> from pan_gym.worlds import make_world
    >>> from pan_gym.eval.starts import eval_seeds, start_states
    >>> from pan_gym.eval.simulators import OracleSimulator
    >>> world = make_world("babyai")
    >>> starts = start_states(world, eval_seeds(3))
    >>> r = stepwise(world, OracleSimulator("babyai"), starts, progress=False)
    >>> r["train"]["accuracy"], r["heldout"]["accuracy"]
    (1.0, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm import tqdm

from pan_gym.eval import metrics as M
from pan_gym.eval.fidelity import imagine_final, template_of, world_tile
from pan_gym.eval.simulators import Simulator
from pan_gym.eval.starts import StartState, pick_action
from pan_gym.worlds.base import World
from pan_gym.worlds.language import PhrasingSampler


def _candidates(world: World, rng: np.random.Generator, max_events: int) -> list[tuple[str, str]]:
    """(kind, action) for every agent action and up to ``max_events`` environment events, shuffled."""
    events = list(world.actions("environment"))
    picked: list[str] = []
    for _ in range(min(max_events, len(events))):
        picked.append(pick_action(world, [e for e in events if e not in picked], rng))
    cands = [("agent", a) for a in world.actions("agent")] + [("environment", e) for e in picked]
    return [cands[i] for i in rng.permutation(len(cands))]


def build_items(
    world: World, starts: list[StartState], max_events: int = 6, seed: int = 0, progress: bool = True
) -> list[dict[str, Any]]:
    """Items per usable start and kind: the true action, 3 distractors, the 4 true final frames (4, H, W, 3)."""
    rng = np.random.default_rng([seed, 0x57E9])
    tile = world_tile(world)
    items = []
    for s in tqdm(starts, desc="step-wise: true outcomes", disable=not progress, leave=False):
        outcomes: dict[bytes, tuple[str, str, np.ndarray]] = {}
        for kind, action in _candidates(world, rng, max_events):
            world.set_state(s.state)
            final = world.step(action)[0][-1]
            outcomes.setdefault(final.tobytes(), (kind, action, final))
        options = list(outcomes.values())
        if len(options) < 4:
            continue
        for kind in ("agent", "environment"):
            moving = [o for o in options if o[0] == kind and M.changed(s.frame, o[2], tile)]
            if not moving:
                continue
            true = moving[0]
            others = [o for o in options if o[1] != true[1]][:3]
            items.append(
                {
                    "start": s,
                    "kind": kind,
                    "actions": [true[1]] + [o[1] for o in others],
                    "finals": np.stack([true[2]] + [o[2] for o in others]),  # (4, H, W, 3), index 0 the truth
                }
            )
    return items


def score_items(
    world: World,
    simulator: Simulator,
    items: list[dict[str, Any]],
    split: str,
    batch_size: int = 16,
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy of picking the true outcome among 4 for the true action phrased from ``split``."""
    rng = np.random.default_rng([seed, 0x5917, split == "heldout"])
    sampler = PhrasingSampler(world.paraphrases(split))
    phrased = [sampler.phrase_with_pattern(it["actions"][0], rng) for it in items]
    texts = [t for t, _ in phrased]
    if not items:
        return {"split": split, "n": 0, "accuracy": None}
    before = np.stack([it["start"].frame for it in items])
    states = [it["start"].state for it in items]
    pasts = [it["start"].past for it in items]
    pred = imagine_final(simulator, before, states, texts, batch_size, pasts)  # (N, H, W, 3)
    finals = np.stack([it["finals"] for it in items])  # (N, 4, H, W, 3)
    d = M.mse(pred[:, None], finals)  # (N, 4)
    correct = d[:, 0] < d[:, 1:].min(axis=1)
    kinds = np.array([it["kind"] for it in items])
    by_kind = {
        k: {
            "n": int((kinds == k).sum()),
            "accuracy": float(correct[kinds == k].mean()) if (kinds == k).any() else None,
        }
        for k in ("agent", "environment")
    }
    templates = np.array([template_of(world, it["actions"][0]) for it in items])
    by_template = {
        t: {"n": int((templates == t).sum()), "accuracy": float(correct[templates == t].mean())}
        for t in sorted(set(templates.tolist()))
    }
    patterns = np.array([p for _, p in phrased])
    by_phrasing = {
        p: {"n": int((patterns == p).sum()), "accuracy": float(correct[patterns == p].mean())}
        for p in sorted(set(patterns.tolist()))
    }
    return {
        "split": split,
        "n": len(items),
        "accuracy": float(correct.mean()),
        "by_kind": by_kind,
        "by_template": by_template,
        "by_phrasing": by_phrasing,
        "chance": 0.25,
        "examples": [
            {"seed": it["start"].seed, "text": t, "actions": it["actions"], "correct": bool(c)}
            for it, t, c in list(zip(items, texts, correct, strict=True))[:5]
        ],
    }


def stepwise(
    world: World,
    simulator: Simulator,
    starts: list[StartState],
    max_events: int = 6,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Step-wise simulation with train and held-out phrasing over the same items."""
    items = build_items(world, starts, max_events, seed, progress)
    return {
        "n_starts": len(starts),
        "n_items": len(items),
        "seeds": [it["start"].seed for it in items],
        "train": score_items(world, simulator, items, "train", batch_size, seed),
        "heldout": score_items(world, simulator, items, "heldout", batch_size, seed),
    }
