"""Is an action's effect learnable from the grid itself? A probe apart from pixels and diffusion.

Every cell of the frames before and after a transition is read as the world's tile it shows (``TileBook``), so a
BabyAI transition becomes (8×8 tile ids, action words) -> 8×8 tile ids. A small transformer encoder (cell tokens +
word tokens, full attention) is trained by cross-entropy to predict the next grid, and scored on transitions of
held-out episodes: whole grid right, per action template, and for "go to" whether the predicted agent ends facing
an object of the named colour and type (the action's meaning, whichever neighbour cell) and on the true cell (the
exact end pose). If it learns "go to the X" here while the world model's decoder does not, the function is
learnable and the pixel/flow pipeline is what fails; if not, the function itself (the BFS path's end pose, ties
included) is the obstacle.

    PYTHONPATH=. python scripts/symbolic_probe.py data/babyai-macro data/babyai-mixed --steps 3000
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agents.scorers import FrameReader
from pan_gym.data.dataset import load_dataset
from pan_gym.eval.metrics import TileBook
from pan_gym.worlds import make_world


def read_transitions(roots: list[str], book: TileBook, cache: Path) -> dict[str, np.ndarray]:
    """(before (N, 8, 8), after (N, 8, 8) tile ids, canonical action texts (N,), episode index (N,)), cached."""
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    data = load_dataset(roots, window=1)
    before, after, texts, episodes, frames = [], [], [], [], []
    for i in range(len(data)):
        item = data[i]
        frames.append(np.stack([item["first_frame"].numpy(), item["frames"][0, -1].numpy()]))  # (2, H, W, 3)
        texts.append(item["canonical_actions"][0])
        episodes.append(data.index[i][0])
        if len(frames) == 1024 or i == len(data) - 1:  # read the cells of a block of frames at once
            ids = book.read(np.stack(frames))  # (b, 2, 8, 8)
            before.append(ids[:, 0])
            after.append(ids[:, 1])
            frames = []
    out = {
        "before": np.concatenate(before),
        "after": np.concatenate(after),
        "texts": np.array(texts),
        "episodes": np.array(episodes),
    }
    np.savez(cache, **out)
    return out


class GridTransformer(nn.Module):
    """(B, 64) tile ids + (B, W) word ids -> (B, 64, K) logits of the next grid's tiles."""

    def __init__(
        self, tiles: int, words: int, cells: int = 64, dim: int = 128, layers: int = 4, heads: int = 4
    ):
        super().__init__()
        self.tile = nn.Embedding(tiles + 1, dim)  # +1: unreadable cells (-1)
        self.word = nn.Embedding(words, dim)
        self.pos = nn.Parameter(torch.randn(cells, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, 4 * dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, tiles + 1)

    def forward(self, grid: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.tile(grid + 1) + self.pos, self.word(words)], dim=1)  # (B, 64 + W, D)
        return self.head(self.encoder(x)[:, : grid.shape[1]])  # (B, 64, K + 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="dataset directories written by `pan-gym collect`")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heldout", type=float, default=0.1, help="share of episodes held out for scoring")
    p.add_argument(
        "--only", default="", help="train and score on one action template, e.g. 'go to the {color} {obj}'"
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", default="/tmp/symbolic_probe.npz")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    world = make_world("babyai")
    book = TileBook(world.tiles())
    tic = time.perf_counter()
    d = read_transitions(args.data, book, Path(args.cache))
    n = len(d["texts"])
    print(f"{n} transitions read in {time.perf_counter() - tic:.0f} s")
    vocab = sorted({w for t in d["texts"] for w in re.findall(r"[a-z0-9]+", str(t))})
    wid = {w: i + 1 for i, w in enumerate(vocab)}  # 0: padding
    words = [[wid[w] for w in re.findall(r"[a-z0-9]+", str(t))] for t in d["texts"]]
    width = max(map(len, words))
    word_ids = torch.tensor([w + [0] * (width - len(w)) for w in words])  # (N, W)
    before = torch.from_numpy(d["before"]).flatten(1).long()  # (N, 64)
    after = torch.from_numpy(d["after"]).flatten(1).long()
    templates = np.array([world.action_template(str(t)) for t in d["texts"]])
    rng = np.random.default_rng(args.seed)
    eps = np.unique(d["episodes"])
    held = set(rng.choice(eps, int(len(eps) * args.heldout), replace=False).tolist())
    test = np.array([e in held for e in d["episodes"]])
    keep = templates == args.only if args.only else np.ones(n, bool)
    if not keep.any():
        raise SystemExit(f"no transitions of template {args.only!r}; known: {sorted(set(templates))}")
    train_idx, test_idx = np.flatnonzero(~test & keep), np.flatnonzero(test & keep)
    model = GridTransformer(len(book.tiles), len(vocab) + 1, before.shape[1], layers=args.layers)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=max(1, args.steps), pct_start=0.05)

    reader, side = FrameReader(), int(before.shape[1] ** 0.5)

    # the logit columns of the tiles that draw the agent (column = tile id + 1)
    agent_tiles = torch.from_numpy(np.flatnonzero(reader.heading[:-1] >= 0) + 1)

    def commit(logits: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """Exactly one agent: on the cell with the most agent-tile probability, its likeliest agent tile there."""
        mass = logits.softmax(-1)[..., agent_tiles]  # (B, 64, A)
        cell = mass.sum(-1).argmax(-1)  # (B,)
        rows = torch.arange(len(cell))
        out = pred.clone()
        out[(pred[:, :, None] == agent_tiles - 1).any(-1)] = 0  # agents drawn elsewhere -> floor
        out[rows, cell] = agent_tiles[mass[rows, cell].argmax(-1)] - 1
        return out

    def score(idx: np.ndarray) -> tuple[Counter, ...]:
        """Per template: whole grid right, transitions seen; for "go to": facing the named object, agent pose right,
        no agent drawn at all, and the whole grid / facing the object once one agent is committed to (``commit``)."""
        right, seen, meant, posed, gone, right1, meant1 = (Counter() for _ in range(7))
        model.eval()
        with torch.no_grad():
            for s in range(0, len(idx), 512):
                b = idx[s : s + 512]
                logits = model(before[b], word_ids[b])
                pred = logits.argmax(-1) - 1  # (B, 64)
                one = commit(logits, pred)
                ok = (pred == after[b]).all(-1) & (after[b] >= 0).all(-1)
                ok1 = (one == after[b]).all(-1) & (after[b] >= 0).all(-1)
                for j, (i, t, o) in enumerate(zip(b, templates[b], ok.tolist(), strict=True)):
                    right[t] += o
                    seen[t] += 1
                    if t == "go to the {color} {obj}":
                        grid, grid1 = pred[j].view(side, side).numpy(), one[j].view(side, side).numpy()
                        color, obj = str(d["texts"][i]).split()[-2:]
                        meant[t] += reader.front(grid) == (obj, color)
                        posed[t] += reader.agent(grid) == reader.agent(d["after"][i])
                        gone[t] += not (reader.heading[grid] >= 0).any()
                        right1[t] += bool(ok1[j])
                        meant1[t] += reader.front(grid1) == (obj, color)
        model.train()
        return right, seen, meant, posed, gone, right1, meant1

    tic = time.perf_counter()
    for step in range(1, args.steps + 1):
        b = rng.choice(train_idx, args.batch_size)
        logits = model(before[b], word_ids[b])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), (after[b] + 1).flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps:
            right, seen, *_ = score(test_idx[:2000])
            total = sum(right.values()) / max(1, sum(seen.values()))
            print(
                f"step {step} loss {loss.item():.4f} held-out whole grid {total:.1%} ({time.perf_counter() - tic:.0f} s)"
            )
    right, seen, meant, posed, gone, right1, meant1 = score(test_idx)
    print(f"\n{'template':45s} whole grid right (held-out episodes)")
    for t in sorted(seen):
        print(f"{t:45s} {right[t]:5d} / {seen[t]:5d}  {right[t] / seen[t]:6.1%}")
    for t in sorted(meant):
        print(
            f"{t}: facing the named object {meant[t]} / {seen[t]}, agent pose right {posed[t]} / {seen[t]}, "
            f"no agent drawn {gone[t]} / {seen[t]}; one agent committed to: facing the named object "
            f"{meant1[t]} / {seen[t]}, whole grid right {right1[t]} / {seen[t]}"
        )


if __name__ == "__main__":
    main()
