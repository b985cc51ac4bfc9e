"""Env throughput: the native vector env of N vs N single envs stepped in turn, and latent-only vs decoded steps.

Env-steps per second, best of ``repeats`` timings. Start frames are random uint8 images (speed does not depend on
their content); episodes never end during the timed steps (termination threshold above 1) so all sub-envs step
together, except in ``vector_churn`` (10 % random terminations), which shows the cost of sub-envs falling out of
step (see env/vector.py). (``benchmarks/bench_env.py`` is the command-line front end.)

Example:
    >>> r = env_throughput("tiny", n=2, steps=1, repeats=1)
    >>> sorted(r), r["vector"] > 0
    (['cohorts', 'latent', 'singles', 'vector', 'vector_churn'], True)
"""

from __future__ import annotations

import numpy as np

from pan_gym.env.models import resolve_model
from pan_gym.env.vector import PanWorldModelVectorEnv
from pan_gym.env.world_model_env import PanWorldModelEnv
from pan_gym.perf.stepping import ACTIONS
from pan_gym.perf.timing import best_of


def env_throughput(
    model, n: int = 8, steps: int = 4, repeats: int = 3, precision: str = "fp32"
) -> dict[str, float]:
    """Env-steps/s of ``vector`` (one vector env of n), ``vector_churn`` (10 % terminations), ``singles`` (n
    single envs stepped in turn) and ``latent`` (latent-only single envs in turn), every env at ``precision``;
    ``cohorts`` after the churn."""
    model = resolve_model(model)
    frames = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    frames = frames[:, : model.cfg.image_size, : model.cfg.image_size]
    acts = [[ACTIONS[(t + i) % len(ACTIONS)] for i in range(n)] for t in range(steps)]
    opts = {"observation": frames, "mission": "go to the red ball"}

    vec = PanWorldModelVectorEnv(n, model=model, termination_threshold=2.0, precision=precision)
    vec.reset(seed=0, options=opts)
    vec.step(acts[0])  # warm-up

    def run_vec():
        for a in acts:
            vec.step(a)

    rng = np.random.default_rng(0)
    churn = PanWorldModelVectorEnv(
        n, model=model, reward_fn=lambda o, a, i: (0.0, bool(rng.random() < 0.1)), precision=precision
    )
    churn.reset(seed=0, options=opts)
    for _ in range(10):  # let the sub-envs fall out of step
        churn.step(acts[0])

    def run_churn():
        for a in acts:
            churn.step(a)

    singles = [
        PanWorldModelEnv(model=model, termination_threshold=2.0, precision=precision) for _ in range(n)
    ]
    latents = [
        PanWorldModelEnv(model=model, termination_threshold=2.0, latent_only=True, precision=precision)
        for _ in range(n)
    ]
    for i, (s, lat) in enumerate(zip(singles, latents, strict=True)):
        s.reset(seed=i, options={"observation": frames[i], "mission": "go to the red ball"})
        lat.reset(seed=i, options={"observation": frames[i], "mission": "go to the red ball"})
        s.step(ACTIONS[0])
        lat.step(ACTIONS[0])

    def run_singles(envs):
        def go():
            for a in acts:
                for i, e in enumerate(envs):
                    e.step(a[i])

        return go

    total = n * steps
    out = {
        "vector": total / best_of(run_vec, repeats),
        "vector_churn": total / best_of(run_churn, repeats),
        "singles": total / best_of(run_singles(singles), repeats),
        "latent": total / best_of(run_singles(latents), repeats),
    }
    out["cohorts"] = churn.num_cohorts
    return out
