"""Action simulation fidelity: from evaluation start states, does the imagined chunk show the action's true outcome?

For each start state and each of ``actions_per_state`` draws, a template of ``kind`` (``agent`` or ``environment``)
is drawn uniformly from every template the start states offer, then one of its actions; a start that does not offer
the template is walked on with seeded listing actions (at most ``MAX_ADVANCE``) until it does, so templates that
need a door or a carried object are scored as often as the rest (``unreached``: draws no walk reached, e.g. another
Meta-World task's action; those take a template the start offers instead). The action is phrased with a train
phrasing, executed in the true world and imagined from that state's frame and the past that led there (the start's
warm-up and the walk: their actions and true frames, which the model runs through its backbone, so "drop it" can
know what is carried). Scored on the final frame of each chunk with ``metrics.outcome_shown`` (BabyAI: grid-exact).

The headline ``fidelity`` counts only transitions whose true frame changes (``metrics.changed``): a no-op is "shown"
by copying the previous frame (the copy baseline). ``copy_rate`` is how often the imagined frame is the
pre-action frame on those changing transitions; ``fidelity_all`` counts every transition. ``per_template`` gives
each template's figures on its own, with the 95 % Wilson interval.

Example:
    >>> from pan_gym.worlds import make_world
    >>> from pan_gym.eval.starts import eval_seeds, start_states
    >>> from pan_gym.eval.simulators import CopySimulator
    >>> world = make_world("babyai")
    >>> starts = start_states(world, eval_seeds(3))
    >>> r = action_fidelity(world, CopySimulator(), starts, "agent", progress=False)
    >>> r["fidelity"], r["copy_rate"]
    (0.0, 1.0)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from tqdm import tqdm

from pan_gym.eval import metrics as M
from pan_gym.eval.simulators import Past, Simulator, by_past_length
from pan_gym.eval.starts import StartState, listing_action
from pan_gym.eval.stats import wilson
from pan_gym.worlds.base import World
from pan_gym.worlds.language import PhrasingSampler


def world_tile(world: World) -> int | M.TileBook | None:
    """How cells are read on a tiled world: a ``TileBook`` of its ``tiles()`` (BabyAI), else its ``tile_size`` in
    px (pixel-exact cells); None when frames are not a grid of tiles."""
    if hasattr(world, "tiles"):
        return M.TileBook(world.tiles())
    return getattr(world, "tile_size", None)


MAX_ADVANCE = 8  # listing actions a start may be walked on until a drawn template is on offer


def template_of(world: World, action: str) -> str:
    """The action's canonical template (``world.action_template``), or the action itself for worlds without one."""
    tf = getattr(world, "action_template", None)
    return tf(action) if tf else action


def _offered(world: World, state: Any, kind: str) -> dict[str, list[str]]:
    """Template -> the ``kind`` actions on offer in ``state`` (the world is left there)."""
    world.set_state(state)
    out: dict[str, list[str]] = {}
    for a in world.actions(kind):
        out.setdefault(template_of(world, a), []).append(a)
    return out


class _Walk:
    """A start state and one seeded listing walk from it (≤ ``MAX_ADVANCE`` actions), taken as far as needed: the
    first point of it where a template of ``kind`` is on offer. Points are (frame (H, W, 3), state, offered)."""

    def __init__(self, world: World, start: StartState, kind: str):
        self.world, self.kind = world, kind
        self.rng = np.random.default_rng([start.seed, 0xADA])
        self.points = [(start.frame, start.state, _offered(world, start.state, kind), start.past)]

    def first_offering(self, template: str):
        for point in self.points:
            if template in point[2]:
                return point
        while len(self.points) <= MAX_ADVANCE:
            self.world.set_state(self.points[-1][1])
            action = listing_action(self.world, self.rng)
            chunk, *_, info = self.world.step(action)
            past = self.points[-1][3].then(info.get("action", action), chunk[-1])
            state = self.world.get_state()
            self.points.append((chunk[-1], state, _offered(self.world, state, self.kind), past))
            if template in self.points[-1][2]:
                return self.points[-1]
        return None


def _mean(x: np.ndarray) -> float | None:
    return float(np.mean(x)) if len(x) else None


def imagine_final(
    simulator: Simulator,
    befores: np.ndarray,
    states: list[Any],
    texts: list[str],
    batch_size: int,
    pasts: list[Past] | None = None,
) -> np.ndarray:
    """The simulator's final frame for one action from each start (given the past that led there; the frame alone
    when None), in batches of one past length: (N, H, W, 3)."""
    out = np.zeros((len(texts), *befores.shape[1:]), np.uint8)
    pasts = pasts if pasts is not None else [Past(b) for b in befores]
    for rows in by_past_length(pasts, batch_size):
        simulator.start(befores[rows], [states[i] for i in rows], pasts=[pasts[i] for i in rows])
        out[rows] = simulator.step([texts[i] for i in rows]).frames[:, -1]
    return out


def action_fidelity(
    world: World,
    simulator: Simulator,
    starts: list[StartState],
    kind: str = "agent",
    actions_per_state: int = 2,
    batch_size: int = 16,
    psnr_threshold: float = 25.0,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Fidelity of ``kind`` actions over ``starts`` (see the module docstring). Returns figures and samples."""
    rng = np.random.default_rng([seed, 0xF1DE])
    sampler = PhrasingSampler(world.paraphrases("train"))
    tile = world_tile(world)
    universe = sorted({t for st in starts for t in _offered(world, st.state, kind)})
    befores, trues, states, texts, canon, templates, pasts, unreached = [], [], [], [], [], [], [], 0
    for s in tqdm(starts, desc=f"fidelity/{kind}: true outcomes", disable=not progress, leave=False):
        walk = _Walk(world, s, kind)
        for _ in range(actions_per_state if walk.points[0][2] else 0):
            template = universe[int(rng.integers(len(universe)))]
            point = walk.first_offering(template)
            if point is None:  # not reachable from here (another task's action): one the start offers instead
                unreached += 1
                point = walk.points[0]
                template = sorted(point[2])[int(rng.integers(len(point[2])))]
            before, state, offered, past = point[0], point[1], point[2][template], point[3]
            world.set_state(state)
            action = offered[int(rng.integers(len(offered)))]
            text = sampler.phrase(action, rng)
            chunk, _, _, _, info = world.step(text)
            if info.get("kind", kind) != kind:
                continue
            befores.append(before)
            trues.append(chunk[-1])
            states.append(state)
            texts.append(text)
            canon.append(info.get("action", action))
            templates.append(template)
            pasts.append(past)
    if not texts:
        return {"kind": kind, "n": 0, "n_changed": 0, "fidelity": None}
    before, true = np.stack(befores), np.stack(trues)  # (N, H, W, 3) x2
    pred = imagine_final(simulator, before, states, texts, batch_size, pasts)  # (N, H, W, 3)
    shown = M.outcome_shown(pred, true, before, tile, psnr_threshold)
    ch = M.changed(before, true, tile)
    cp = M.copied(pred, true, before, tile, psnr_threshold)
    per_template: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # changing, shown, copied
    for t, ok, c, cop in zip(templates, shown, ch, cp, strict=True):
        if c:
            per_template[t][0] += 1
            per_template[t][1] += int(ok)
            per_template[t][2] += int(cop)
    out: dict[str, Any] = {
        "kind": kind,
        "n": len(texts),
        "unreached": unreached,
        "n_changed": int(ch.sum()),
        "fidelity": _mean(shown[ch]),
        "fidelity_all": _mean(shown),
        "copy_rate": _mean(cp[ch]),
        "psnr": _mean(M.psnr(pred, true)),
        "psnr_changed": _mean(M.psnr(pred[ch], true[ch])) if ch.any() else None,
        "per_template": {
            t: {"n": n, "shown": k, "fidelity": k / n, "interval": list(wilson(k, n)), "copy_rate": c / n}
            for t, (n, k, c) in sorted(per_template.items())
        },
        "seeds": sorted({s.seed for s in starts}),
    }
    if tile is not None:
        acc = M.tile_accuracy(pred, true, tile)
        out["tile_accuracy"] = _mean(acc)
        out["tile_accuracy_changed"] = _mean(acc[ch])
        if isinstance(tile, M.TileBook):  # the strictest reading beside it: every pixel equal
            out["fidelity_pixel_exact"] = _mean(M.grid_exact(pred, true, tile.size)[ch])
    k = min(6, int(ch.sum()))
    idx = np.flatnonzero(ch)[:k]
    out["_examples"] = {
        "before": before[idx],
        "true": true[idx],
        "pred": pred[idx],
        "text": [texts[i] for i in idx],
    }
    return out
