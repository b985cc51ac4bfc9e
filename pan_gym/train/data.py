"""Training data: the dataset a run reads, seeded resumable batches, a toy synthetic world, and latent memoisation.

- ``open_dataset``: ``pan_gym.data.load_dataset(DIR, window=N)``, or ``synthetic:N`` (``SyntheticWindows``).
- ``Rephrased``: a collected dataset whose action texts are re-worded every epoch from the world's train phrasings.
- ``WindowBatches``: batches in the order of a ``DistributedSampler`` (seeded, reshuffled per epoch, sharded over
  ranks); its position (epoch, batch) is checkpointed, so a resumed run sees exactly the batches it would have seen.
- ``memoize_latents``: for a learned latent space, each distinct frame is encoded once and then served from memory
  (later stages never re-encode a frame every step).

Example:
    >>> ds = SyntheticWindows(8, window=3, frames_per_chunk=2)
    >>> item = ds[0]
    >>> item["frames"].shape, item["actions"][:1]
    (torch.Size([3, 2, 64, 64, 3]), ['move up'])
    >>> batches = WindowBatches(ds, batch_size=4, seed=0)
    >>> b = batches.next(); b["frames"].shape, batches.state_dict()
    (torch.Size([4, 3, 2, 64, 64, 3]), {'epoch': 0, 'batch': 1})
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from pan_gym.train.distributed import DistInfo
from pan_gym.worlds.base import chunk_indices
from pan_gym.worlds.language import PhrasingSampler

MOVES = {"move right": (0, 1), "move left": (0, -1), "move down": (1, 0), "move up": (-1, 0)}


class SyntheticWindows(Dataset):
    """A toy tile world with the collector's item format: an 8x8 grid of coloured tiles that each action scrolls by
    one tile per frame. Deterministic per (seed, index); learnable, so losses go down."""

    def __init__(
        self,
        size: int,
        window: int,
        frames_per_chunk: int,
        image_size: int = 64,
        seed: int = 0,
        tiles: int = 8,
    ):
        self.size, self.window, self.t, self.hw, self.seed, self.tiles = (
            size,
            window,
            frames_per_chunk,
            image_size,
            seed,
            tiles,
        )

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        grid = torch.randint(0, 6, (self.tiles, self.tiles), generator=g)
        palette = torch.tensor(
            [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [128, 128, 128]]
        )
        names = list(MOVES)
        actions = [names[j] for j in torch.randint(0, len(names), (self.window,), generator=g).tolist()]

        def render(grid):  # (tiles, tiles) -> uint8 (H, W, 3)
            img = palette[grid].to(torch.uint8)
            k = self.hw // self.tiles
            return img.repeat_interleave(k, 0).repeat_interleave(k, 1)

        first, chunks = render(grid), []
        for a in actions:
            chunk = []
            for _ in range(self.t):
                grid = grid.roll(MOVES[a], dims=(0, 1))
                chunk.append(render(grid))
            chunks.append(torch.stack(chunk))
        up = torch.tensor([a == "move up" for a in actions])
        return {
            "first_frame": first,  # (H, W, 3)
            "frames": torch.stack(chunks),  # (N, T, H, W, 3)
            "actions": actions,
            "rewards": up.float(),  # (N,)
            "terminated": torch.zeros(self.window, dtype=torch.bool),
            "is_env_event": torch.zeros(self.window, dtype=torch.bool),
            "mission": "scroll the grid up",
        }


def collate(items: list[dict]) -> dict:
    """Stack tensors, keep strings as lists (``pan_gym.data.collate_windows`` when the data package has it)."""
    try:
        from pan_gym.data import collate_windows

        return collate_windows(items)
    except ImportError:
        return {
            k: torch.stack([it[k] for it in items])
            if torch.is_tensor(items[0][k])
            else [it[k] for it in items]
            for k in items[0]
        }


def open_dataset(data: str, window: int, frames_per_chunk: int, image_size: int, seed: int = 0) -> Dataset:
    """``synthetic:N``, or a directory written by ``pan-gym collect`` (several: comma-separated, pooled)."""
    if data.startswith("synthetic"):
        n = int(data.split(":", 1)[1]) if ":" in data else 64
        return SyntheticWindows(n, window, frames_per_chunk, image_size, seed)
    from pan_gym.data import load_dataset

    return load_dataset(data.split(","), window=window)


class ResampledChunks(Dataset):
    """A window dataset whose chunks are resampled to ``frames_per_chunk`` frames by the worlds' chunk rule
    (evenly spaced, ending on the last frame): a model may render fewer frames per action than the data holds."""

    def __init__(self, dataset: Dataset, frames_per_chunk: int):
        self.dataset, self.frames_per_chunk = dataset, frames_per_chunk

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        item = dict(self.dataset[i])
        idx = torch.as_tensor(chunk_indices(item["frames"].shape[1], self.frames_per_chunk))
        item["frames"] = item["frames"][:, idx]  # (N, T, H, W, 3) -> (N, frames_per_chunk, H, W, 3)
        return item


class Rephrased(Dataset):
    """A collected window dataset whose action texts are drawn afresh from ``paraphrases`` (canonical action ->
    phrasings) for every (seed, epoch, window): over a run each transition is seen in many wordings, not in the one
    its collector drew. ``WindowBatches`` calls ``set_epoch``, so a resumed run draws the same wordings.

    Example:
        >>> from pan_gym.worlds import make_world
        >>> import tempfile
        >>> from pan_gym.data import load_dataset
        >>> from pan_gym.data.collect import collect
        >>> root = tempfile.mkdtemp()
        >>> _ = collect("babyai", episodes=1, out=root, policy="random", max_steps=4, progress=False)
        >>> ds = Rephrased(load_dataset(root, window=2), make_world("babyai").paraphrases("train"), seed=0)
        >>> len(ds[0]["actions"]) == len(ds[0]["canonical_actions"]) == 2
        True
    """

    def __init__(self, dataset: Dataset, paraphrases: Mapping[str, Sequence[str]], seed: int = 0):
        if "canonical_actions" not in dataset[0]:
            raise ValueError(
                "rephrasing needs the canonical actions that `pan-gym collect` stores with the data"
            )
        self.dataset, self.sampler, self.seed, self.epoch = dataset, PhrasingSampler(paraphrases), seed, 0

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        item = dict(self.dataset[i])
        rng = np.random.default_rng((self.seed, self.epoch, i))
        item["actions"] = [self.sampler.phrase(a, rng) for a in item["canonical_actions"]]
        return item


class WindowBatches:
    """Seeded, resumable batches over a ``DistributedSampler`` (this rank's shard; every rank the same count)."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, info: DistInfo | None = None):
        info = info or DistInfo()
        self.dataset, self.batch_size = dataset, batch_size
        self.sampler = DistributedSampler(
            dataset, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=seed, drop_last=True
        )
        self.per_epoch = len(self.sampler) // batch_size
        if self.per_epoch == 0:
            raise ValueError(
                f"dataset of {len(dataset)} windows is too small for batch {batch_size} x {info.world_size} ranks"
            )
        self.epoch, self.batch, self._order = 0, 0, None

    def next(self) -> dict:
        if self.batch >= self.per_epoch:
            self.epoch, self.batch, self._order = self.epoch + 1, 0, None
        if self._order is None:
            self.sampler.set_epoch(self.epoch)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(self.epoch)
            self._order = list(self.sampler)
        idx = self._order[self.batch * self.batch_size : (self.batch + 1) * self.batch_size]
        self.batch += 1
        return collate([self.dataset[i] for i in idx])

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.batch, self._order = int(state["epoch"]), int(state["batch"]), None


def memoize_latents(latent: torch.nn.Module, max_frames: int = 50_000) -> None:
    """Serve ``latent.encode`` (uint8 (B, F, H, W, 3) -> (B, C, F, h, w)) from a per-frame memo keyed by the frame's
    bytes. Only for per-frame latent spaces with frozen weights (``kl``); a no-op for ``pixel`` and ``wan``."""
    if type(latent).__name__ != "KLSpace":
        return
    encode, memo = latent.encode, {}

    def cached(frames: torch.Tensor) -> torch.Tensor:
        b, f = frames.shape[:2]
        flat = frames.reshape(b * f, -1)
        keys = [hashlib.blake2b(row.cpu().numpy().tobytes(), digest_size=16).digest() for row in flat]
        missing = [i for i, k in enumerate(keys) if k not in memo]
        fresh = {}  # encoded this call but over the cap: used, not kept
        if missing:
            with torch.no_grad():
                z = encode(frames.reshape(b * f, *frames.shape[2:])[missing][:, None])  # (M, C, 1, h, w)
            for i, zi in zip(missing, z[:, :, 0], strict=True):
                (memo if len(memo) < max_frames else fresh)[keys[i]] = zi
        z = torch.stack([memo[k] if k in memo else fresh[k] for k in keys])  # (B·F, C, h, w)
        return z.unflatten(0, (b, f)).transpose(1, 2)  # (B, C, F, h, w)

    latent.encode = cached
