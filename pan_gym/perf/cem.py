"""The ``cem`` section of ``pan-gym bench``: seconds per planned action of ``agents.cem.CEMPlanner`` over the model,
scored by the reward head (latent-only steps) and by ``agents.goal_image.GoalImage`` (decoded frames compared with a
goal image in the encoder's tokens: goal-image planning, ``pan-gym plan --scorer goal-image``).

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
    from agents.goal_image import GoalImage
    from pan_gym.eval.simulators import ModelSimulator

    warm_text(model)
    frames = bench_frames(model, 2).numpy()
    obs = {"frame": frames[0], "mission": MISSION, "actions": ACTIONS, "goal": frames[1]}
    result = {"samples": cfg.cem_samples, "horizon": cfg.cem_horizon, "iterations": cfg.cem_iterations}
    result["goal"] = {
        "samples": cfg.goal_samples,
        "horizon": cfg.goal_horizon,
        "iterations": cfg.goal_iterations,
    }
    for prec in cfg.precisions:
        sim = ModelSimulator(model, "babyai", latent_only=True, seed=cfg.seed, precision=prec)
        planner = CEMPlanner(
            sim, cfg.cem_horizon, cfg.cem_samples, cfg.cem_iterations, elites=min(8, cfg.cem_samples)
        )
        result[prec] = _decisions(planner, obs, cfg.cem_decisions)
        sim.close()
        sim = ModelSimulator(model, "babyai", latent_only=False, seed=cfg.seed, precision=prec)
        planner = CEMPlanner(
            sim,
            cfg.goal_horizon,
            cfg.goal_samples,
            cfg.goal_iterations,
            elites=min(4, cfg.goal_samples),
            score_fn=GoalImage(sim.model),
        )
        result["goal"][prec] = _decisions(planner, obs, cfg.cem_decisions)
        sim.close()
    return result


def _decisions(planner, obs: dict, n: int) -> dict[str, float]:
    """Seconds of the first decision (warm-up) and the fastest of the next ``n``."""
    times = []
    for _ in range(n + 1):
        t = time.perf_counter()
        planner.act(obs)
        times.append(time.perf_counter() - t)
    return {"first_s": times[0], "decision_s": min(times[1:]) if len(times) > 1 else times[0]}
