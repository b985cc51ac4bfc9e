"""A learned goal distance for Meta-World reach: a small CNN that reads a frame and a goal image (stacked) and predicts
how far the hand is from the target, in metres.

It is trained on real frames only: from each start of a ``GoalBank``, random gripper moves in the true world, each
labelled with the simulator's hand–target distance. It then reads imagined frames as it reads real ones, so PPO in
imagination and PPO in the real world can be paid by the same learned reading (``agents.goal_ppo --reward learned``).
The goal-image distance in the model's encoder tokens hardly tracks this distance on reach (Spearman 0.07,
``scripts/goal_distance_probe.py``); this head does, on held-out starts (``fit`` reports it).

Example:
    >>> import numpy as np
    >>> head = GoalDistanceHead()
    >>> head.distances(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((2, 64, 64, 3), np.uint8)).shape
    (2,)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from pan_gym.worlds.metaworld_tasks import GRIPPER_MOTIONS

MOVES = list(GRIPPER_MOTIONS)[:6]  # the six moves: open/close leave the hand where it is


def stack(frame: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """A frame and its goal image as one (..., H, W, 6) uint8 image, so that one CNN sees where the arm is and where
    it should be in the same pixels (this head's input, and goal-image PPO's policy input)."""
    return np.concatenate([frame, goal], axis=-1)


class GoalDistanceHead(nn.Module):
    """(frame, goal image) uint8 (N, 64, 64, 3) each -> predicted hand–target distance (N,) in metres."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in ((6, 32), (32, 64), (64, 64), (64, 64)):  # 64 -> 4 pixels
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.SiLU()]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 16, 128), nn.SiLU(), nn.Linear(128, 1))

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        """uint8 (N, H, W, 6) -> (N,)"""
        return self.net(pairs.permute(0, 3, 1, 2).float() / 255).squeeze(1)

    @torch.no_grad()
    def distances(self, frames: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Frames and their goal images, uint8 (N, H, W, 3) each -> (N,) float64 metres."""
        return self(torch.from_numpy(np.ascontiguousarray(stack(frames, goals)))).double().numpy()


def labelled_pairs(world: Any, bank: Any, moves: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random moves from every bank start in the true world: (frame ⊕ goal) uint8 (N, H, W, 6), distances (N,)."""
    rng = np.random.default_rng(seed)
    pairs, dist = [], []
    for start, goal in zip(bank.seeds, bank.frames, strict=True):
        world.reset(seed=int(start))
        for _ in range(moves):
            chunk, *_ = world.step(MOVES[rng.integers(len(MOVES))])
            hand, target = world.hand_and_goal()
            pairs.append(stack(chunk[-1], goal))
            dist.append(float(np.linalg.norm(hand - target)))
    return np.stack(pairs), np.array(dist, np.float32)


def fit(
    world: Any, train: Any, held_out: Any, moves: int = 12, steps: int = 1500, seed: int = 0
) -> tuple[GoalDistanceHead, dict[str, float]]:
    """Train a head on ``train``'s starts (MSE, AdamW 1e-3, batch 64); score it on ``held_out``'s: (head, {"spearman",
    "mae"} on held-out pairs)."""
    x, y = labelled_pairs(world, train, moves, seed)
    x_ho, y_ho = labelled_pairs(world, held_out, max(1, moves // 2), seed + 1)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        head = GoalDistanceHead()
    opt = torch.optim.AdamW(head.parameters(), 1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        idx = torch.randint(len(yt), (64,), generator=gen)
        loss = ((head(xt[idx]) - yt[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    pred = head.distances(x_ho[..., :3], x_ho[..., 3:])
    return head, {
        "spearman": float(spearmanr(pred, y_ho).correlation),
        "mae": float(np.abs(pred - y_ho).mean()),
    }


def save(head: GoalDistanceHead, path: str | Path) -> None:
    from safetensors.torch import save_file

    save_file(head.state_dict(), str(path))


def load(path: str | Path) -> GoalDistanceHead:
    from safetensors.torch import load_file

    head = GoalDistanceHead()
    head.load_state_dict(load_file(str(path)))
    return head.eval()
