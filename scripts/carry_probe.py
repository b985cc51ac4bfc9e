"""Does the backbone's ŝ know what the agent carries? A linear probe on ŝ at the "drop it" round.

BabyAI PutNextLocal starts from seed 1,000,000: the agent picks up the object the mission moves, takes 0–3 random
turns or steps, turns until it faces an empty cell, and the model predicts "drop it" (``PanWorldModel.predict``), once
with the episode's real history in its backbone (``PanWorldModel.observe``) and once from the frame before the drop
alone. What is carried never shows in the frame, so from the frame alone ŝ can only guess. A logistic regression
reads the carried object's colour and type from ŝ (its mean and max over the Q queries), fitted on the first
``--train`` episodes and scored on the rest, beside the majority-class rate. If ŝ with the history scores well above
the frame alone, the backbone carries what is held and the decoder is what does not read it; if not, the backbone
is where it is lost.

    python scripts/carry_probe.py [--model DIR] [--episodes 600] [--train 400]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from drop_probe import carry_to_a_free_cell

from pan_gym.env.models import resolve_model
from pan_gym.worlds import make_world


def features(s_hat: torch.Tensor) -> np.ndarray:
    """ŝ (1, Q, D) -> its mean and max over the queries (2D,)."""
    s = s_hat[0].float()
    return torch.cat([s.mean(0), s.amax(0)]).numpy()


def fit_and_score(x: np.ndarray, y: np.ndarray, n_train: int, weight_decay: float = 1e-2) -> float:
    """Held-out accuracy of a multinomial logistic regression on standardised features."""
    x = torch.from_numpy(x).float()
    mu, sd = x[:n_train].mean(0), x[:n_train].std(0) + 1e-6
    x = (x - mu) / sd
    classes, yi = np.unique(y, return_inverse=True)
    yi = torch.from_numpy(yi)
    lin = torch.nn.Linear(x.shape[1], len(classes))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(x[:n_train]), yi[:n_train])
        loss = loss + weight_decay * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float((lin(x[n_train:]).argmax(1) == yi[n_train:]).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a model directory (default: the shipped BabyAI model)")
    parser.add_argument("--episodes", type=int, default=600, help="PutNextLocal seeds from 1,000,000")
    parser.add_argument("--train", type=int, default=400, help="episodes the probe is fitted on")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = resolve_model(args.model, default="babyai")
    world = make_world("babyai", levels=("BabyAI-PutNextLocal-v0",))
    rng = np.random.default_rng(0)
    feats: dict[str, list[np.ndarray]] = {"real history": [], "frame alone": []}
    colours, types = [], []
    for seed in range(1_000_000, 1_000_000 + args.episodes):
        setup = carry_to_a_free_cell(world, seed, rng)
        if setup is None:
            continue
        frame, past = setup
        state = model.start(torch.from_numpy(frame[None]))
        for action, seen in past:
            model.observe(state, [action], torch.from_numpy(seen[None]))
        feats["real history"].append(features(model.predict(state, ["drop it"])))
        alone = model.start(torch.from_numpy(past[-1][1][None]))
        feats["frame alone"].append(features(model.predict(alone, ["drop it"])))
        colours.append(world.env.carrying.color)
        types.append(world.env.carrying.type)
    n_train = min(args.train, len(colours) - 1)
    print(f"{len(colours)} drops, probe fitted on {n_train}, scored on {len(colours) - n_train}")
    for label, y in (("colour", np.array(colours)), ("type", np.array(types))):
        _, counts = np.unique(y[n_train:], return_counts=True)
        line = [f"majority {counts.max() / counts.sum():.1%}"]
        line += [f"{k} {fit_and_score(np.stack(v), y, n_train):.1%}" for k, v in feats.items()]
        print(f"  carried {label:6s}: " + ", ".join(line))


if __name__ == "__main__":
    main()
