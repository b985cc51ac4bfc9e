"""The ``cem`` section of ``pan-gym bench``: seconds per planned action of ``agents.cem.CEMPlanner`` over the model.

Layering: ``pan_gym`` never imports ``agents`` at module import time; this section imports it inside the function,
because the planner is what the speed goal is about (the same exception as ``pan-gym plan``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pan_gym.perf.stepping import ACTIONS, MISSION, bench_frames, warm_text

if TYPE_CHECKING:
    from pan_gym.perf.suite import BenchConfig


def sec_cem(cfg: BenchConfig, model, out: dict) -> dict:
    # layering exception: agents sits on top of pan_gym; imported here only, never at pan_gym import time
    from agents.cem import CEMPlanner
    from pan_gym.eval.simulators import ModelSimulator

    warm_text(model)
    obs = {"frame": bench_frames(model, 1)[0].numpy(), "mission": MISSION, "actions": ACTIONS}
    result = {"samples": cfg.cem_samples, "horizon": cfg.cem_horizon, "iterations": cfg.cem_iterations}
    for prec in cfg.precisions:
        sim = ModelSimulator(model, "babyai", latent_only=True, seed=cfg.seed, precision=prec)
        planner = CEMPlanner(
            sim, cfg.cem_horizon, cfg.cem_samples, cfg.cem_iterations, elites=min(8, cfg.cem_samples)
        )
        times = []
        for _ in range(cfg.cem_decisions + 1):  # the first is a warm-up
            t = time.perf_counter()
            planner.act(obs)
            times.append(time.perf_counter() - t)
        result[prec] = {"first_s": times[0], "decision_s": min(times[1:]) if len(times) > 1 else times[0]}
        sim.close()
    return result
