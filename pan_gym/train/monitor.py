"""What a run shows while it trains: a progress bar (loss, samples/s), TensorBoard scalars, ``metrics.jsonl`` (one
line of scalars per step, rank 0), sample videos.

Sample videos roll the model out from a window's first frame with that window's actions (``start`` / ``step``,
fixed noise) and write imagined | true side by side as an mp4 (nearest-neighbour upscaled x2).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from pan_gym.model.glp import PanWorldModel
    >>> from pan_gym.train.data import SyntheticWindows
    >>> model = PanWorldModel.from_preset("tiny")
    >>> item = SyntheticWindows(1, window=2, frames_per_chunk=2)[0]
    >>> path = write_sample_video(model, item, Path(tempfile.mkdtemp()) / "s.mp4")
    >>> path.stat().st_size > 0
    True
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch import nn

from pan_gym.train.args import TrainArgs


class RunLogger:
    """tqdm on rank 0 with the loss and throughput; TensorBoard scalars every ``log_every`` steps; every step's
    scalars appended to ``out/metrics.jsonl``."""

    def __init__(self, args: TrainArgs, out: Path, start_step: int, is_main: bool):
        self.args, self.is_main, self.step = args, is_main, start_step
        self.bar = self.tb = None
        if is_main and args.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=args.steps, initial=start_step, desc=f"train[{args.stage}]", dynamic_ncols=True
            )
        if is_main and args.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tb"), purge_step=start_step + 1)
        self.jsonl = (out / "metrics.jsonl").open("a") if is_main else None
        self._t = time.perf_counter()

    def log(self, step: int, scalars: dict[str, float], samples: int) -> None:
        """Record one finished step: scalars (rank-averaged), ``samples`` windows processed over all ranks."""
        now = time.perf_counter()
        sps = samples / max(now - self._t, 1e-9)
        self._t, self.step = now, step
        if self.jsonl is not None:
            self.jsonl.write(json.dumps({"step": step, **scalars, "samples_per_s": sps}) + "\n")
            self.jsonl.flush()
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{scalars['loss']:.4f}", samples_s=f"{sps:.1f}")
        if self.tb is not None and (step % self.args.log_every == 0 or step == self.args.steps):
            for k, v in scalars.items():
                self.tb.add_scalar(f"train/{k}", v, step)
            self.tb.add_scalar("train/samples_per_s", sps, step)
            self.tb.flush()

    def close(self) -> None:
        if self.jsonl is not None:
            self.jsonl.close()
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()


@torch.no_grad()
def write_sample_video(
    model: nn.Module, item: dict, path: str | Path, seed: int = 0, zero_state: bool = False, fps: int = 4
) -> Path:
    """Roll ``model`` out on ``item``'s first frame and actions (``zero_state``: ŝ = 0, as the ``decoder`` stage
    trains); write imagined | true frames as an mp4."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    try:
        with torch.random.fork_rng(devices=[]):
            state = model.start(item["first_frame"][None])
            # N x (T, H, W, 3)
            imagined = [model.step(state, [a], g, zero_state=zero_state)[1][0].cpu() for a in item["actions"]]
    finally:
        model.train(was_training)
    fake = torch.cat([item["first_frame"][None], *imagined])  # (1 + N·T, H, W, 3)
    true = torch.cat([item["first_frame"][None], item["frames"].flatten(0, 1)])
    video = torch.cat([fake, true], dim=2).repeat_interleave(2, 1).repeat_interleave(2, 2)  # (F, 2H, 4W, 3)
    imageio.mimwrite(path, list(video.numpy()), fps=fps, macro_block_size=1)
    return path
