"""The GPU check: one command that exercises the paper-scale path on a CUDA machine in a few minutes and prints one
JSON line (``scripts/gpu_check.sh``; ``--cpu`` runs the same path on the CPU at tiny sizes, as CI does).

1. ``tiny_dirs``: tiny real-format checkpoint directories (``tiny_dirs.py``) loaded with the README's calls onto
   the device, one imagined step.
2. ``throughput``: imagined steps per second (one ``env.step``'s work: f then g) for the tiny and small presets at
   batch 1 / 16 / 64 under bf16 autocast (CPU: tiny at batch 1 / 4).
3. ``fsdp``: 3 FSDP2 training steps of (1) under ``torchrun`` over every GPU, when there are several.
4. ``eval``: the shipped BabyAI model's step-wise accuracy on the device and on the CPU over the same items, and
   how many pixels of an imagined chunk agree (within 8 levels) between the two from the same noise.

Example:
    >>> import json, subprocess, sys
    >>> line = subprocess.run([sys.executable, "-m", "pan_gym.paper.gpu_check", "--cpu", "--skip", "eval"],
    ...                       capture_output=True, text=True, timeout=300).stdout  # doctest: +SKIP
    >>> json.loads(line)["ok"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from pan_gym.paper.tiny_dirs import TINY_SIZE, TinyDirs, write_tiny_checkpoints

PARTS = ("tiny_dirs", "throughput", "fsdp", "eval")


def check_tiny_dirs(dirs: TinyDirs, device: torch.device) -> dict:
    from pan_gym.model.glp import PanWorldModel

    t = time.perf_counter()
    model = PanWorldModel.from_config(dirs.paper_config(), device=device)
    load_s = time.perf_counter() - t
    state = model.start(torch.zeros(1, TINY_SIZE, TINY_SIZE, 3, dtype=torch.uint8))
    with torch.autocast(device.type, dtype=torch.bfloat16):
        s_hat, frames = model.step(state, ["go to the red ball"], torch.Generator().manual_seed(0))
    return {"load_s": round(load_s, 3), "frames": list(frames.shape), "device": str(frames.device)}


def check_throughput(device: torch.device, presets: list[str], batches: list[int], repeats: int) -> dict:
    from pan_gym.model.glp import PanWorldModel
    from pan_gym.perf.stepping import steady_state, time_step, warm_text

    out = {}
    for name in presets:
        model = PanWorldModel.from_preset(name, device=device).eval()
        warm_text(model)
        for b in batches:
            state = steady_state(model, b, warm_steps=1, precision="bf16")
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time_step(model, state, b, repeats, precision="bf16")
            out[f"{name}@{b}"] = round(b / seconds, 2)  # imagined steps per second, all rollouts together
    return out


def check_fsdp(dirs: TinyDirs, gpus: int, out: Path) -> dict:
    from pan_gym.paper.tiny_dirs import paper_train_args

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus),
           "-m", "pan_gym.train", *paper_train_args(dirs, out), "--fsdp", "--device", "cuda"]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=240, env=dict(os.environ, OMP_NUM_THREADS="1")
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return {
        "gpus": gpus,
        "steps": 3,
        "seconds": round(time.perf_counter() - t, 1),
        "final": (out / "final").is_dir(),
    }


def check_eval(device: torch.device, n_starts: int) -> dict:
    from pan_gym.env.models import shipped_model_dir
    from pan_gym.eval.simulators import ModelSimulator
    from pan_gym.eval.starts import eval_seeds, start_states
    from pan_gym.eval.stepwise import stepwise
    from pan_gym.model.glp import PanWorldModel
    from pan_gym.worlds import make_world

    world = make_world("babyai")
    starts = start_states(world, eval_seeds(n_starts))
    figures, chunks = {}, {}
    for where in dict.fromkeys(["cpu", device.type]):
        model = PanWorldModel.from_pretrained(shipped_model_dir("babyai"), device=where)
        r = stepwise(world, ModelSimulator(model, seed=0), starts, progress=False)
        figures[where] = {
            "train": r["train"]["accuracy"],
            "heldout": r["heldout"]["accuracy"],
            "items": r["n_items"],
        }
        state = model.start(torch.from_numpy(starts[0].frame)[None])
        chunks[where] = model.step(state, ["go forward"], torch.Generator().manual_seed(0))[1].cpu()
    a, b = chunks["cpu"].int(), chunks[device.type].int()
    agree = float(((a - b).abs() <= 8).float().mean())
    return {"stepwise": figures, "pixels_agree": round(agree, 4)}


def run(cpu: bool, skip: set[str], repeats: int) -> dict:
    device = torch.device("cpu" if cpu or not torch.cuda.is_available() else "cuda")
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    report: dict = {
        "device": torch.cuda.get_device_name() if gpus else "cpu",
        "gpus": gpus,
        "torch": torch.__version__,
    }
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        dirs = write_tiny_checkpoints(Path(tmp) / "checkpoints")
        parts = {
            "tiny_dirs": lambda: check_tiny_dirs(dirs, device),
            "throughput": lambda: check_throughput(
                device, ["tiny"] if cpu else ["tiny", "small"], [1, 4] if cpu else [1, 16, 64], repeats
            ),
            "fsdp": (lambda: check_fsdp(dirs, gpus, Path(tmp) / "run")) if gpus > 1 else None,
            "eval": lambda: check_eval(device, 2 if cpu else 8),
        }
        for name in PARTS:
            if name in skip or parts[name] is None:
                report[name] = "skipped"
                continue
            try:
                report[name] = parts[name]()
            except Exception as e:  # reported in the JSON line; the other parts still run
                traceback.print_exc(file=sys.stderr)
                report[name] = {"error": f"{type(e).__name__}: {e}"[:500]}
    report["ok"] = not any(isinstance(v, dict) and "error" in v for v in report.values())
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu", action="store_true", help="run on the CPU at tiny sizes (what CI runs)")
    p.add_argument("--skip", default="", help=f"comma-separated parts to skip, of {', '.join(PARTS)}")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per throughput figure (best of)")
    a = p.parse_args(argv)
    skip = {s for s in a.skip.split(",") if s}
    if skip - set(PARTS):
        p.error(f"unknown parts {sorted(skip - set(PARTS))}; parts: {', '.join(PARTS)}")
    if a.cpu:
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    stdout = os.dup(1)
    os.dup2(2, 1)  # libraries' output goes to stderr: stdout carries the one JSON line
    try:
        report = run(a.cpu, skip, a.repeats)
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
        os.close(stdout)
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
