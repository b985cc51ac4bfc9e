"""CartPole as a world with no World class: collect, train the small preset, then measure what it imagines.

The world is one line, ``make_world("gym:CartPole-v1", actions=[...])``; a two-line heuristic plays the expert half
of the data. Afterwards the script measures, on start states never used in training:
- the pole angle in the imagined frame after 10 actions against the true one (a ridge probe fitted on true frames
  reads the angle off a frame; the probe's own error on true frames is printed beside it);
- CEM planning in imagination (the model's reward and termination head, ``--horizon`` actions ahead) against random
  actions, in the true CartPole, as the number of steps the pole stays up (at most ``--max-steps``). The same CEM on
  the true simulator is ``pan-gym plan --world gym:CartPole-v1 --actions cartpole.toml --planner oracle-cem``.

    PYTHONPATH=. python examples/gym_cartpole.py --out runs/cartpole --steps 1500
    PYTHONPATH=. python examples/gym_cartpole.py --out /tmp/cp --episodes 8 --steps 2 --preset tiny --probe-starts 4

Every stage resumes (data and checkpoints are kept in ``--out``). The 1500 training steps take about 40 min on
2 cores: in bf16 on a Xeon with AMX, in fp32 (1.6 s a step) on an AVX2-only CPU, where bf16 is emulated and 20x
slower (``native_bf16`` picks).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

WORLD = dict(
    actions=["push left", "push right"], mission="balance the pole", success="survive", frames_per_action=1
)


def expert(obs: np.ndarray) -> int:
    """Push toward where the pole is falling (angle plus a share of its angular velocity)."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def make_cartpole(**kw):
    from pan_gym.worlds import GYM_OPTIONS, make_world

    GYM_OPTIONS["gym:CartPole-v1"] = WORLD  # the planners rebuild the world by name: the same one
    return make_world("gym:CartPole-v1", **kw)


def angle_probe(world, seeds: range, rng: np.random.Generator):
    """Ridge regression from a frame's pixels to the pole angle, fitted on frames of the true world."""
    xs, ys = [], []
    for seed in seeds:
        world.reset(seed=seed)
        for _ in range(30):
            frames, _, terminated, truncated, _ = world.step(world.actions()[int(rng.integers(2))])
            xs.append(_features(frames[-1]))
            ys.append(float(world.env.unwrapped.state[2]))
            if terminated or truncated:
                break
    x, y = np.stack(xs), np.array(ys)
    mean = x.mean(0)
    w = np.linalg.solve((x - mean).T @ (x - mean) + 10.0 * np.eye(x.shape[1]), (x - mean).T @ (y - y.mean()))
    return lambda frame: float((_features(frame) - mean) @ w + y.mean())


def _features(frame: np.ndarray) -> np.ndarray:
    return (
        (frame[..., 0].astype(np.float64) - frame[..., 2]) / 255.0
    ).ravel()  # the pole is the only brown: R − B


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/cartpole")
    p.add_argument("--episodes", type=int, default=600)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--preset", default="small")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--probe-starts", type=int, default=32)
    p.add_argument("--plan-episodes", type=int, default=8)
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument(
        "--horizon", type=int, default=10, help="CEM's lookahead (the true simulator needs ~10 to balance)"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)

    from pan_gym.data.collect import collect
    from pan_gym.env.models import resolve_model
    from pan_gym.perf.timing import native_bf16
    from pan_gym.train import TrainArgs, train

    world = make_cartpole(expert=expert)
    collect(world, episodes=args.episodes, out=out / "data", policy="mixed", max_steps=60, seed=0)
    train(
        TrainArgs(
            preset=args.preset,
            world=world.name,
            data=str(out / "data"),
            steps=args.steps,
            out=str(out / "train"),
            batch_size=8,
            window=4,
            lr=5e-4,
            warmup_steps=50,
            ema_decay=0.999 if args.steps >= 100 else 0.0,
            save_every=100,
            resume=True,
            bf16=native_bf16(),  # emulated bf16 is several times slower than fp32
            threads=args.threads,
            config="frames_per_chunk=1",
            tensorboard=False,
            progress=False,
        )
    )
    model = resolve_model(out / "train" / "final")

    # 1. The pole angle after 10 imagined actions, on start seeds never used in training (>= 1,000,000).
    rng = np.random.default_rng(0)
    probe = angle_probe(make_cartpole(), range(500_000, 500_000 + 4 * args.probe_starts), rng)
    imagined, true, floor = [], [], []
    for seed in range(1_000_000, 1_000_000 + args.probe_starts):
        frame, _ = world.reset(seed=seed)
        state = model.start(torch.from_numpy(frame)[None])
        g = torch.Generator().manual_seed(seed)
        for i in range(
            10
        ):  # the expert's push every other step, else a push left: a varied walk that stays up
            a = world.actions()[expert(world.observation)] if i % 2 else "push left"
            frames, _, terminated, truncated, _ = world.step(a)
            model.step(state, [a], g)
            if terminated or truncated:
                break
        else:
            last = model.latent.decode(state.swin.last_frame)[0, -1].numpy()  # the imagined frame after 10
            imagined.append(probe(last))
            floor.append(probe(frames[-1]))
            true.append(float(world.env.unwrapped.state[2]))
    true, imagined, floor = np.array(true), np.array(imagined), np.array(floor)
    band = 2 * 0.2095  # CartPole's angle band (±12°) before termination
    angle = {
        "n": int(len(true)),
        "imagined_mae_rad": float(np.abs(imagined - true).mean()),
        "probe_floor_mae_rad": float(np.abs(floor - true).mean()),
        "imagined_mae_share_of_band": float(np.abs(imagined - true).mean() / band),
    }

    # 2. Planning in imagination vs random actions, in the true CartPole.
    from agents.plan_cli import build_planner_factory
    from pan_gym.eval.planning_eval import RandomPlanner, evaluate_planner

    seeds = list(range(1_000_000, 1_000_000 + args.plan_episodes))
    factory = build_planner_factory(
        "cem",
        world.name,
        str(out / "train" / "final"),
        "",
        horizon=args.horizon,
        samples=16,
        iterations=2,
        elites=4,
        precision="bf16-weights" if native_bf16() else "fp32",
    )
    cem = evaluate_planner(factory, make_cartpole(), seeds, max_steps=args.max_steps, progress=False)
    rand = evaluate_planner(RandomPlanner, make_cartpole(), seeds, max_steps=args.max_steps, progress=False)
    result = {"angle_after_10": angle, "cem": cem, "random": rand}
    print(json.dumps(result, indent=1))
    (out / "figures.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
