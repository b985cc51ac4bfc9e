"""Run the ablations: train every variant with the same data, steps and seeds, score each, write the report.

    OUT/runs/<run>/seed-<s>/            pan_gym.train's run directory (final/, checkpoints/, tb/)
    OUT/runs/<run>/seed-<s>/eval/       report.json (every figure, per-rollout scores), report.md, plots
    OUT/ablations.md, OUT/ablations.json, OUT/ablation_<claim>_horizon.png

With ``model`` set (``pan-gym ablate --model DIR``) nothing is trained: the trained model is scored under each
inference-time variant (noise offset, window, history cap; ``variants.INFERENCE_KEYS``), its results under
``OUT/runs/<variant>/eval/``.

Resumable at every level: a run whose ``final/`` exists is not trained again (an interrupted one resumes from its
newest checkpoint), and a run whose evaluation exists with the same settings is not scored again.

Example:
    >>> import tempfile
    >>> args = AblateArgs(data="synthetic:8", budget=1, out=tempfile.mkdtemp(), claims=("supervision",),
    ...                   preset="tiny", batch_size=2, bf16=False, ema_decay=0.0, eval_states=1, eval_rollouts=1,
    ...                   horizon=3)
    >>> [r.key for r in planned_runs(args)]
    ['pan', 'latent']
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pan_gym.ablate import report
from pan_gym.ablate.evaluate import EvalSettings, evaluate_model
from pan_gym.ablate.variants import (
    BASE_CONFIG,
    CLAIMS,
    Run,
    claims_named,
    join,
    resolve,
    resolve_inference,
)


@dataclass
class AblateArgs:
    """Every knob of ``pan-gym ablate``; training knobs default to the default model's recipe."""

    data: str = ""
    """dataset directory written by ``pan-gym collect`` (``synthetic:N`` for smoke tests only)"""
    budget: int = 0
    """optimizer steps per variant and seed (every variant gets the same)"""
    model: str | None = None
    """a trained model directory: train nothing, score it under each inference-time variant instead"""
    init: str | None = None
    """a trained model directory every run starts from (continued training: ``budget`` more steps per arm, each
    with its switch; modules a switch adds start from their initialisation) instead of a fresh preset"""
    out: str = "runs/ablate"
    """output directory (runs, evaluations, ablations.md)"""
    world: str = "babyai"
    """the world the data comes from and the variants are scored in"""
    claims: tuple[str, ...] = tuple(CLAIMS)
    """claims to test: supervision, noise, language, history, state"""
    seeds: tuple[int, ...] = (0,)
    """training seeds; every variant is trained once per seed"""
    preset: str = "small"
    """model preset the base recipe starts from"""
    config: str = BASE_CONFIG
    """the base recipe's config overrides; each variant's overrides are applied after it"""
    batch_size: int = 16
    window: int = 2
    """action steps per training window (the history a round can see in training is at most window − 1 rounds)"""
    lr: float = 3e-4
    bf16: bool = True
    ema_decay: float = 0.999
    threads: int = 1
    """torch threads for training (evaluation runs at 1)"""
    eval_states: int = 64
    """start states for step-wise simulation (and fidelity)"""
    eval_rollouts: int = 32
    """open-loop rollouts for exactness, smoothness and consistency"""
    horizon: int = 20
    """actions per rollout"""
    eval_batch: int = 16
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    """further ``TrainArgs`` fields for every run (e.g. ``{"warmup_steps": 50}``)"""

    def __post_init__(self):
        self.claims = tuple(claims_named(list(self.claims)))
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ValueError("give at least one seed")
        if self.model is not None and self.init is not None:
            raise ValueError(
                "--model scores a trained model as it is, --init trains on from one: give one of them"
            )
        if self.model is not None:
            if not (Path(self.model) / "config.json").is_file():
                raise ValueError(f"--model {self.model!r} is not a model directory (no config.json)")
            if len(self.seeds) != 1:
                raise ValueError("--model scores one trained model: give one seed (the sampler's)")
            return
        if self.init is not None and not (Path(self.init) / "config.json").is_file():
            raise ValueError(f"--init {self.init!r} is not a model directory (no config.json)")
        if self.budget < 1:
            raise ValueError(f"--budget must be >= 1 optimizer step, got {self.budget}")
        if not self.data:
            raise ValueError(
                "give --data (a directory from pan-gym collect), or --model to score a trained model"
            )
        if not self.data.startswith("synthetic:"):
            from pan_gym.data.collect import committed_episodes

            for data in self.data.split(","):  # several directories pool (as in pan-gym train)
                if not Path(data).is_dir():
                    raise ValueError(
                        f"data directory {data!r} does not exist; collect one first, e.g. pan-gym collect "
                        f"--world {self.world} --episodes 4000 --out {data} --policy mixed"
                    )
                if not committed_episodes(data):
                    raise ValueError(f"data directory {data!r} holds no committed episodes (pan-gym collect)")

    def eval_settings(self) -> EvalSettings:
        return EvalSettings(
            self.eval_states, self.eval_rollouts, self.horizon, self.eval_batch, 0, self.progress
        )


def planned_runs(args: AblateArgs) -> list[Run]:
    """The distinct runs ``args`` needs (validates every config before anything trains)."""
    if args.model is not None:
        return resolve_inference(args.claims)
    return resolve(args.claims, args.config, args.preset)


def run_dir(args: AblateArgs, run: Run, seed: int) -> Path:
    return Path(args.out) / "runs" / run.key / f"seed-{seed}"


def train_run(args: AblateArgs, run: Run, seed: int) -> Path:
    """Train ``run``'s stages in order (each from the previous stage's ``final/``); skip what is finished."""
    from pan_gym.train import TrainArgs, train

    if args.model is not None:
        return Path(args.model)
    root, init = run_dir(args, run, seed), args.init
    for i, stage in enumerate(run.stages):
        out = root if len(run.stages) == 1 else root / f"{i}-{stage}"
        final = out / "final"
        if not (final / "config.json").is_file():
            train_args = TrainArgs(
                preset=args.preset,
                world=args.world,
                data=args.data,
                stage=stage,
                steps=args.budget,
                out=str(out),
                resume=True,
                init=str(init) if init is not None else None,
                config=run.config if i == 0 else "",  # later stages keep the earlier stage's config
                batch_size=args.batch_size,
                window=args.window,
                lr=args.lr,
                warmup_steps=max(1, min(100, args.budget // 20)),
                bf16=args.bf16,
                seed=seed,
                save_every=max(1, min(100, args.budget)),
                threads=args.threads,
                ema_decay=args.ema_decay,
                progress=args.progress,
                **args.extra,
            )
            _say(f"training {run.key} (seed {seed}, stage {stage}, {args.budget} steps) -> {out}")
            final = train(train_args)
        else:
            _say(f"{run.key} (seed {seed}, stage {stage}): {final} exists, not trained again")
        init = final
    return init


def evaluate_run(args: AblateArgs, run: Run, seed: int, model_dir: Path) -> dict[str, Any]:
    """Score a trained run (or read its earlier scores when they were made with the same settings)."""
    import torch

    from pan_gym.eval.report import to_jsonable, write_report
    from pan_gym.model.glp import PanWorldModel

    path = run_dir(args, run, seed) / "eval" / "report.json"
    overrides = run.config if args.model is not None else ""  # trained runs already hold their config
    settings = {**args.eval_settings().to_dict(), "model": str(model_dir), "overrides": overrides}
    if path.is_file():
        old = json.loads(path.read_text())
        if old["meta"].get("ablation_eval") == settings and old["meta"]["world"] == args.world:
            return old
    _say(f"evaluating {model_dir}" + (f" with {overrides!r}" if overrides else ""))
    torch.set_num_threads(1)
    model = PanWorldModel.from_pretrained(model_dir, overrides=overrides)
    results = evaluate_model(model, args.world, args.eval_settings())
    results["meta"].update(model=str(model_dir), ablation_eval=settings)
    write_report(results, path)
    return json.loads(json.dumps(to_jsonable(results)))  # the same form as a re-read one


def run_ablation(args: AblateArgs) -> Path:
    """Train and score every run for every seed, then write ``OUT/ablations.md``; returns its path."""
    runs = planned_runs(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = {
        r.key: {"config": r.config, "stages": r.stages, "variants": [v.name for v in r.variants]}
        for r in runs
    }
    (out / "plan.json").write_text(json.dumps({"args": asdict(args), "runs": plan}, indent=1))
    tic = time.perf_counter()
    scored: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for seed in args.seeds:
            model_dir = train_run(args, run, seed)
            scored.setdefault(run.key, []).append(evaluate_run(args, run, seed, model_dir))
    _say(f"all runs trained and scored in {time.perf_counter() - tic:.0f} s")
    md = report.write(out, args, runs, scored)
    _say(f"wrote {md}")
    return md


def describe(args: AblateArgs) -> str:
    """One line per run: what it trains, or with what it scores ``--model`` (for ``--dry-run``)."""
    lines = []
    for r in planned_runs(args):
        how = (
            f"scores {args.model} with"
            if args.model is not None
            else f"stages {'+'.join(r.stages)} | --config"
        )
        lines.append(
            f"{r.key}: {', '.join(v.claim + '/' + v.name for v in r.variants)} | {how} {join(r.config)!r}"
        )
    return "\n".join(lines)


def _say(msg: str) -> None:
    print(f"[pan-gym ablate] {msg}", flush=True)
