"""Bring your own world, end to end: FrozenLake as a World -> collect -> train (tiny preset) -> evaluate -> imagine.

About a minute on 2 CPU cores with the default tiny budgets (the model learns little in 30 steps: the point is the
pipeline; raise --episodes/--steps and use --preset small for a real model).

    PYTHONPATH=. python examples/your_own_world/run.py --out runs/frozenlake
    PYTHONPATH=. python examples/your_own_world/run.py --out runs/frozenlake --episodes 200 --steps 3000 --preset small

Walkthrough: docs/your_own_world.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # so `frozenlake_world` imports from anywhere

WORLD_SPEC = "frozenlake_world:FrozenLakeWorld"  # module:Class, importable from sys.path


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/frozenlake", help="where data/, train/, eval/ and imagined.gif go")
    p.add_argument("--episodes", type=int, default=40, help="episodes to collect")
    p.add_argument("--steps", type=int, default=30, help="optimizer steps")
    p.add_argument("--preset", default="tiny", help="model preset for the fresh run (tiny, small)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    tic = time.perf_counter()

    # 1. The world: register it by name, so that every tool that takes a world name finds it.
    from pan_gym.worlds import WORLDS, make_world

    WORLDS["frozenlake"] = WORLD_SPEC
    world = make_world("frozenlake")
    print(
        f"[1/5] world {world.name!r}: actions {world.actions('agent')}, train paraphrases "
        f"{world.paraphrases('train')}"
    )

    # 2. Collect (frames, action text, reward, done): expert 50 % / forward-biased random 50 % of steps.
    from pan_gym.data.collect import collect

    stats = collect(world, episodes=args.episodes, out=out / "data", policy="mixed", max_steps=12)
    print(f"[2/5] collected {stats.episodes} episodes, {stats.steps} actions in {stats.seconds:.1f} s")

    # 3. Train: the joint stage (backbone + decoder end to end through the decoder's flow-matching loss).
    from pan_gym.train import TrainArgs, train

    train_args = TrainArgs(
        preset=args.preset,
        world="frozenlake",
        data=str(out / "data"),
        stage="joint",
        steps=args.steps,
        out=str(out / "train"),
        batch_size=4,
        window=3,
        save_every=args.steps,
        tensorboard=False,
        progress=True,
    )
    train(train_args)
    model_dir = out / "train" / "final"
    print(f"[3/5] trained {args.steps} steps -> {model_dir}")

    # 4. Evaluate against the true simulator (fidelity, step-wise, long horizon), beside the copy baseline.
    from pan_gym.eval.report import write_report
    from pan_gym.eval.suite import EvalConfig, run_suite

    cfg = EvalConfig(
        n_states=8, actions_per_state=2, n_rollouts=2, horizons=(5,), planning_episodes=2, batch_size=8
    )
    results = run_suite("frozenlake", str(model_dir), cfg)
    paths = write_report(results, out / "eval" / "report.json")
    model_fid = results["simulators"]["model"]["fidelity"]["agent"]
    copy_fid = results["simulators"]["copy"]["fidelity"]["agent"]
    print(
        f"[4/5] agent-action fidelity: model {model_fid['fidelity']:.2f}, copy baseline {copy_fid['fidelity']:.2f}; "
        f"report: {paths[0]}"
    )

    # 5. Imagine: the trained model as a Gymnasium env, the expert's actions, imagined | true as a GIF.
    from pan_gym.env.models import resolve_model
    from pan_gym.ui.demo import run_demo

    demo = run_demo(
        resolve_model(model_dir),
        world,
        seed=1_000_000,
        steps=8,
        out=None,
        gif=out / "imagined.gif",
        planner="expert",
        progress=False,
    )
    print(
        f"[5/5] imagined {len(demo.actions)} actions ({', '.join(demo.actions)}): mean PSNR "
        f"{demo.summary()['psnr']:.1f} dB -> {demo.paths[0]}"
    )
    summary = {
        "episodes": stats.episodes,
        "model": str(model_dir),
        "fidelity_model": model_fid["fidelity"],
        "fidelity_copy": copy_fid["fidelity"],
        "gif": str(demo.paths[0]),
        "seconds": round(time.perf_counter() - tic, 1),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
