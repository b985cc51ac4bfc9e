"""Training throughput (samples/s) of a preset on this machine, fp32 vs bf16 autocast, measured side by side.

A sample is one training window of N action steps (N chunks of T frames). The two precisions alternate step by step
(ABAB…) after warm-up, so machine load hits both alike; the median step time of each gives its samples/s.

    PYTHONPATH=. python benchmarks/bench_train.py --preset small --batch-size 8 --window 4 --steps 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from pan_gym.model.glp import PanWorldModel
from pan_gym.train.data import SyntheticWindows, collate
from pan_gym.train.stages import StageLoss, select_trainable, set_train_mode


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small")
    p.add_argument("--stage", default="joint")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--window", type=int, default=4)
    p.add_argument("--steps", type=int, default=5, help="timed steps per precision")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per precision")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = PanWorldModel.from_preset(a.preset)
    params = select_trainable(model, a.stage)
    set_train_mode(model)
    loss_fn = StageLoss(model, a.stage)
    opt = torch.optim.AdamW(params, lr=1e-4)
    ds = SyntheticWindows(a.batch_size, a.window, model.cfg.frames_per_chunk, model.cfg.image_size)
    batch = collate([ds[i] for i in range(a.batch_size)])
    g = torch.Generator().manual_seed(0)

    def step(bf16: bool) -> float:
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = loss_fn(batch, g)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    times = {False: [], True: []}
    for i in range(a.warmup + a.steps):
        for bf16 in (False, True):
            dt = step(bf16)
            if i >= a.warmup:
                times[bf16].append(dt)
    sps = {k: a.batch_size / statistics.median(v) for k, v in times.items()}
    n = sum(p.numel() for p in params)
    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s), torch {torch.__version__}"
    )
    print(
        f"preset {a.preset}, stage {a.stage}, {n / 1e6:.1f} M trainable, batch {a.batch_size}, window N={a.window}, "
        f"T={model.cfg.frames_per_chunk}, {a.steps} timed steps each after {a.warmup} warm-up"
    )
    for bf16, v in times.items():
        name = "bf16" if bf16 else "fp32"
        print(
            f"{name}: {sps[bf16]:.2f} samples/s (median step {statistics.median(v):.2f} s; steps {[round(x, 2) for x in v]})"
        )
    print(f"bf16 / fp32 = {sps[True] / sps[False]:.2f}x")


if __name__ == "__main__":
    main()
