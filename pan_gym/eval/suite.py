"""The evaluation suite: every metric for one world and one simulator (plus baselines), with seeds and sample sizes.

Seeds (all from ``starts.EVAL_SEED_BASE`` = 1,000,000 up, checked disjoint from the training seeds [0, 1,000,000)):
fidelity and step-wise start states use ``base + [0, n_states)``, long-horizon rollouts (both walks of
``eval.horizon``: ``horizon`` holds the listing walk, the headline, ``horizon_primitive`` the primitive walk)
``base + 10,000 + [0, n_rollouts)``, planning episodes ``base + 20,000 + [0, planning_episodes)``, success
detection (``eval.success``) ``base + 30,000 + [0, success_episodes)``; ``seed_offset`` shifts all four (a
validation block for choosing checkpoints, so the default block stays a test set). Every simulator is scored on
the same start states, actions and true outcomes. PAN's published numbers sit beside ours under ``reference``;
they were judged by VLMs and people on open-domain video, ours by the true simulator, so they are context, not
targets.

Example:
    >>> cfg = EvalConfig(n_states=4, n_rollouts=2, horizons=(5,), planning_episodes=2, progress=False)
    >>> results = run_suite("babyai", "tiny", cfg)
    >>> sorted(results["simulators"]), results["simulators"]["copy"]["fidelity"]["agent"]["fidelity"]
    (['copy', 'model'], 0.0)
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from pan_gym.env.models import describe_model, resolve_model
from pan_gym.eval import metrics as M
from pan_gym.eval.fidelity import action_fidelity, world_tile
from pan_gym.eval.horizon import WALKS, long_horizon
from pan_gym.eval.planning_eval import RandomPlanner, evaluate_planner
from pan_gym.eval.simulators import CopySimulator, ModelSimulator, OracleSimulator, Simulator
from pan_gym.eval.starts import EVAL_SEED_BASE, TRAIN_SEEDS, eval_seeds, start_states
from pan_gym.eval.stepwise import stepwise
from pan_gym.eval.success import success_cases, success_detection
from pan_gym.worlds import make_world

# PAN (arXiv 2511.09057), in percent: open-domain video judged by VLMs and people.
PAN_REFERENCE: dict[str, float] = {
    "fidelity_agent": 70.3,
    "fidelity_environment": 47.0,
    "stepwise": 56.1,
    "smoothness": 53.6,
    "consistency": 64.1,
}
REFERENCE_NOTE = (
    "PAN's figures come from VLM and human judges on open-domain video; ours from the true simulator on this world. "
    "They sit side by side for context, not as like-for-like targets."
)
HORIZON_SEED_OFFSET, PLANNING_SEED_OFFSET, SUCCESS_SEED_OFFSET = 10_000, 20_000, 30_000


@dataclass
class EvalConfig:
    """How much to evaluate; every field is recorded in the report."""

    n_states: int = 32
    """start states for fidelity and step-wise simulation"""
    actions_per_state: int = 2
    """actions of each kind (agent, environment) drawn per start state for fidelity"""
    n_rollouts: int = 8
    """open-loop rollouts per horizon"""
    horizons: tuple[int, ...] = (20, 50)
    """long-horizon lengths in actions"""
    max_events: int = 6
    """environment events tried per start state when looking for step-wise distractors"""
    batch_size: int = 16
    """rollouts imagined together"""
    planning_episodes: int = 20
    """real-world episodes per planner"""
    planning_steps: int = 10
    """actions a planner may take per episode"""
    success_episodes: int = 50
    """held-out episodes of the mixed data policy whose every step scores success detection (0: skip)"""
    psnr_threshold: float = 25.0
    """dB: worlds without tiles need this PSNR (and to be nearer the truth than the start) to show an outcome"""
    baselines: tuple[str, ...] = ("copy",)
    """simulators scored beside the model: copy (ignores the action), oracle (the true simulator)"""
    seed: int = 0
    """seeds the model's sampling noise and the action draws"""
    seed_offset: int = 0
    """shifts every start-state seed block: pick checkpoints on one block (e.g. 100,000), report on the default"""
    model_config: str = ""
    """overrides of the model's config (inference settings, e.g. ``diffusion.guidance_scale=2``)"""
    precision: str = "fp32"
    """the model's arithmetic: fp32, bf16 (autocast) or bf16-weights (the model cast to bf16)"""
    progress: bool = True
    world_kwargs: dict[str, Any] = field(default_factory=dict)


def _tile_reading(tile: Any) -> str | None:
    """How the report read cells (for the JSON and the "how to read" notes)."""
    if isinstance(tile, M.TileBook):
        return (
            f"nearest of the world's {len(tile.tiles)} tiles, clearly (MSE < {tile.margin} × second nearest)"
        )
    return None if tile is None else f"{tile}-px cells, every pixel equal"


def score_simulator(
    world, simulator: Simulator, starts, rollouts_by_h, cfg: EvalConfig, success: list | None = None
) -> dict[str, Any]:
    """Fidelity (agent, environment), step-wise, long-horizon and (on ``success`` cases) success-detection
    figures of one simulator."""
    kw = dict(batch_size=cfg.batch_size, seed=cfg.seed, progress=cfg.progress)
    fid = {
        k: action_fidelity(
            world, simulator, starts, k, cfg.actions_per_state, psnr_threshold=cfg.psnr_threshold, **kw
        )
        for k in ("agent", "environment")
    }
    sw = stepwise(world, simulator, starts, cfg.max_events, **kw)
    hz = {
        walk: {
            str(h): long_horizon(world, simulator, rollouts_by_h[h], h, walk=walk, **kw) for h in cfg.horizons
        }
        for walk in WALKS
    }
    longest = hz["listing"][str(max(cfg.horizons))]["speed"] if cfg.horizons else {}
    return {
        "fidelity": fid,
        "stepwise": sw,
        "horizon": hz["listing"],
        "horizon_primitive": hz["primitive"],
        "speed": longest,
        "success": success_detection(simulator, success, cfg.batch_size) if success else None,
    }


def run_suite(world_name: str, model: Any, cfg: EvalConfig | None = None) -> dict[str, Any]:
    """Evaluate ``model`` (a ``PanWorldModel`` or a spec for ``env.models.resolve_model``: ``default``, a preset
    name, a directory) on ``world_name``."""
    cfg = cfg or EvalConfig()
    torch.set_num_threads(1)
    tic = time.perf_counter()
    world = make_world(world_name, **cfg.world_kwargs)
    model_desc = describe_model(model, world_name, cfg.model_config)
    model = resolve_model(model, default=world_name, overrides=cfg.model_config)
    seeds = eval_seeds(cfg.n_states, cfg.seed_offset)
    starts = start_states(world, seeds)
    horizon_seeds = eval_seeds(cfg.n_rollouts, cfg.seed_offset + HORIZON_SEED_OFFSET)
    rollouts = start_states(world, horizon_seeds, max_warmup=0)
    by_h = {h: rollouts for h in cfg.horizons}
    success_seeds = eval_seeds(cfg.success_episodes, cfg.seed_offset + SUCCESS_SEED_OFFSET)
    success = success_cases(world, success_seeds) if success_seeds else None
    simulators: dict[str, Simulator] = {
        "model": ModelSimulator(model, seed=cfg.seed, precision=cfg.precision)
    }
    for b in cfg.baselines:
        if b == "copy":
            simulators["copy"] = CopySimulator(world.frames_per_action)
        elif b == "oracle":
            simulators["oracle"] = OracleSimulator(make_world(world_name, **cfg.world_kwargs))
        else:
            raise ValueError(f"unknown baseline {b!r}; choose copy or oracle")
    scored = {}
    for name, im in simulators.items():
        if cfg.progress:
            print(f"[eval] scoring simulator {name!r} on {world_name}", flush=True)
        scored[name] = score_simulator(world, im, starts, by_h, cfg, success)
    planning_seeds = eval_seeds(cfg.planning_episodes, cfg.seed_offset + PLANNING_SEED_OFFSET)
    planning = {
        "random": evaluate_planner(RandomPlanner, world, planning_seeds, cfg.planning_steps, cfg.progress),
        "model_planner": None,  # filled in by the agents issue (same planner, simulating with the model)
        "oracle_planner": None,  # ... and with the true simulator
    }
    world.close()
    return {
        "meta": {
            "world": world_name,
            "model": model_desc,
            "model_frames_per_action": int(model.cfg.frames_per_chunk),
            "world_frames_per_action": int(world.frames_per_action),
            "tile_size": getattr(world, "tile_size", None),
            "tile_reading": _tile_reading(world_tile(world)),
            "config": asdict(cfg),
            "seeds": {
                "eval_seed_base": EVAL_SEED_BASE,
                "train_seeds": [TRAIN_SEEDS.start, TRAIN_SEEDS.stop],
                "start_states": seeds,
                "horizon": horizon_seeds,
                "planning": planning_seeds,
                "success": success_seeds,
            },
            "seconds": time.perf_counter() - tic,
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "reference": {"pan_percent": PAN_REFERENCE, "note": REFERENCE_NOTE},
        "simulators": scored,
        "planning": planning,
    }
