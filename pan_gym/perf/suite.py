"""The speed suite behind ``pan-gym bench``: how fast a ``PanWorldModel`` imagines on this machine.

Sections (each prints a markdown table; ``run_suite`` also returns every figure in a dict):

- ``machine``: CPU, cores, flags, load average, versions, threads.
- ``peak``: the machine's own matmul throughput (square fp32 and bf16 matmuls, GFLOP/s), measured in the same run.
- ``components``: one steady-state ``step`` split into text, backbone, DiT (per call = per Euler step), VAE
  decode, encoder h(ô) and the rest, at each batch, with FLOPs and GFLOP/s per part.
- ``batch``: step time, imagined frames/s, latent-only steps/s, FLOPs per step and the achieved fraction of the
  fp32 (or bf16) peak, at batch 1, 4, 16, 64, fp32 and bf16 autocast side by side.
- ``history``: step time and backbone time against the number of rounds already in the history.
- ``sampler``: step time and frames/s against the sampler's Euler steps (2, 4, 8).
- ``chunk``: step time and frames/s of the same model at 1 and 4 frames per action chunk (T), and T = 4 ÷ T = 1.
- ``cache``: KV-cached backbone stepping vs full-history recompute (``pan_gym.perf.cache``).
- ``env``: vector env of N vs N single envs in turn, latent-only vs decoded (``pan_gym.perf.envs``).
- ``memory``: resident memory over a long rollout (every 100 steps) and the growth from step 100 to the end.
- ``cem``: seconds per planned action of ``agents.cem.CEMPlanner`` (64 candidates, horizon 3) with
  ``agents.simulators.ModelSimulator`` over this model, fp32 and bf16; and of goal-image CEM (32 candidates,
  horizon 2, decoded frames scored against a goal frame in the encoder's tokens).
- ``bf16_weights``: the model cast to bf16 vs fp32 and autocast (latent-only steps, CEM), and the change of ŝ.
- ``threads``: 1 vs 2 torch threads at batch 1 and 16.
- ``compile`` (opt-in: slow): ``torch.compile`` of the DiT and the LM, compile time and speed-up.

Modules: ``stepping`` (model, steady-state rollouts, timing a step), ``cem`` (the planner section), ``levers``
(bf16 weights, threads, compile), ``cache`` and ``envs`` (their comparisons), ``report`` (tables and goals).

Example (a few seconds with the tiny preset):
    >>> cfg = BenchConfig(model="tiny", batches=(1, 2), repeats=1, sections=("peak", "batch"), peak_size=128)
    >>> out = run_suite(cfg, echo=lambda *a, **k: None)
    >>> out["batch"][0]["batch"], out["batch"][0]["fp32"]["frames_per_s"] > 0
    (1, True)
"""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from pan_gym.env.models import resolve_model
from pan_gym.perf.cem import sec_cem
from pan_gym.perf.levers import sec_bf16_weights, sec_compile, sec_threads
from pan_gym.perf.report import goals, render
from pan_gym.perf.stepping import (
    bench_actions,
    bench_frames,
    describe,
    steady_state,
    step_flops,
    time_step,
    warm_text,
)
from pan_gym.perf.timing import ComponentTimer, machine, matmul_peak, peak_key, rss_bytes

SECTIONS = (  # memory runs early: before the large batches raise the allocator's high-water mark
    "machine",
    "peak",
    "memory",
    "components",
    "batch",
    "history",
    "sampler",
    "chunk",
    "cache",
    "env",
    "cem",
    "bf16_weights",
    "threads",
    "compile",
)
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "compile")


@dataclass
class BenchConfig:
    """What ``run_suite`` measures."""

    model: str = "small"
    """A preset name (random weights, seed 0: speed does not depend on the weights) or a ``save_pretrained`` dir."""
    config: str = ""
    """Config overrides by dotted path, e.g. ``frames_per_chunk=1,diffusion.sampler_steps=4``."""
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    batches: tuple[int, ...] = (1, 4, 16, 64)
    precisions: tuple[str, ...] = ("fp32", "bf16", "bf16-weights")
    """Precisions of the batch, env and CEM tables (``pan_gym.env.models.PRECISIONS``: bf16 = CPU autocast,
    bf16-weights = the model cast to bf16)."""
    history: tuple[int, ...] = (0, 1, 4, 9)
    """Rounds already in the history before the timed step (capped at max_rounds − 1)."""
    sampler_steps: tuple[int, ...] = (2, 4, 8)
    sampler_batches: tuple[int, ...] = (1, 16)
    chunk_frames: tuple[int, ...] = (1, 4)
    """Frames per action chunk (T) of the ``chunk`` section, the first being the reference; batches: sampler's."""
    component_batches: tuple[int, ...] = (1, 16)
    cache_rounds: tuple[int, ...] = (1, 5, 9)
    env_num: int = 8
    env_steps: int = 4
    rollout_steps: int = 1000
    cem_samples: int = 64
    cem_horizon: int = 3
    cem_iterations: int = 3
    cem_decisions: int = 2
    goal_samples: int = 32
    """Goal-image CEM (decoded, ``pan-gym plan --scorer goal-image``): candidates, horizon, iterations."""
    goal_horizon: int = 2
    goal_iterations: int = 2
    thread_counts: tuple[int, ...] = (1, 2)
    repeats: int = 3
    threads: int = 1
    peak_size: int = 1024
    seed: int = 0


# ---- sections ----------------------------------------------------------------------------------------------------
def sec_peak(cfg: BenchConfig, model, out: dict) -> dict:
    return {
        "fp32": matmul_peak(torch.float32, cfg.peak_size),
        "bf16": matmul_peak(torch.bfloat16, cfg.peak_size),
        "size": cfg.peak_size,
    }


def sec_components(cfg: BenchConfig, model, out: dict) -> list[dict]:
    rows = []
    for b in cfg.component_batches:
        state = steady_state(model, b)
        total, parts, calls = float("inf"), None, None
        for _ in range(cfg.repeats):  # the breakdown of the fastest repeat
            s = state.snapshot()
            with ComponentTimer(model) as timer:
                t = time.perf_counter()
                model.step(s, bench_actions(b, 3), torch.Generator().manual_seed(1))
                dt = time.perf_counter() - t
            if dt < total:
                total, parts, calls = dt, dict(timer.seconds), dict(timer.calls)
        flops, per_module = step_flops(model, state, b)
        module_of = {"backbone": "Qwen2_5_VLTextModel", "dit": "Decoder", "encoder": "VisionEncoder"}
        row = {"batch": b, "total_s": total, "flops": flops, "parts": {}}
        for name, _, _ in ComponentTimer.PARTS:
            sec, f = parts.get(name, 0.0), per_module.get(module_of.get(name, ""), 0.0)
            row["parts"][name] = {"s": sec, "calls": calls.get(name, 0), "flops": f}
        row["parts"]["other"] = {"s": total - sum(parts.values()), "calls": 0, "flops": 0.0}
        rows.append(row)
    return rows


def sec_batch(cfg: BenchConfig, model, out: dict) -> list[dict]:
    peak = out.get("peak") or {}
    t_chunk, rows = model.cfg.frames_per_chunk, []
    for b in cfg.batches:
        row = {"batch": b}
        fp32_states = None
        for prec in cfg.precisions:
            dec_state = steady_state(model, b, precision=prec)
            lat_state = steady_state(model, b, precision=prec, decode=False)
            if prec == "fp32":
                fp32_states = dec_state, lat_state
            dec = time_step(model, dec_state, b, cfg.repeats, prec)
            lat = time_step(model, lat_state, b, cfg.repeats, prec, decode=False)
            row[prec] = {
                "step_s": dec,
                "frames_per_s": b * t_chunk / dec,
                "latent_step_s": lat,
                "latent_steps_per_s": b / lat,
            }
        dec_state, lat_state = fp32_states or (steady_state(model, b), steady_state(model, b, decode=False))
        flops, _ = step_flops(model, dec_state, b)  # FLOPs counted on the fp32 model
        lat_flops, _ = step_flops(model, lat_state, b, decode=False)
        row["flops"], row["latent_flops"] = flops, lat_flops
        for prec in cfg.precisions:
            r = row[prec]
            r["gflops"] = flops / r["step_s"] / 1e9
            r["latent_gflops"] = lat_flops / r["latent_step_s"] / 1e9
            pk = peak.get(peak_key(prec))
            if pk:
                r["of_peak"] = r["gflops"] / pk
                r["latent_of_peak"] = r["latent_gflops"] / pk
        rows.append(row)
    return rows


def sec_history(cfg: BenchConfig, model, out: dict) -> list[dict]:
    cap = model.backbone.cfg.max_rounds
    rows, wanted = [], sorted({min(r, cap - 1) for r in cfg.history})
    for r in wanted:
        state = steady_state(model, 1, warm_steps=r)
        best, bb = float("inf"), 0.0
        for _ in range(cfg.repeats):
            s = state.snapshot()
            with ComponentTimer(model) as timer:
                t = time.perf_counter()
                model.step(s, bench_actions(1, 3), torch.Generator().manual_seed(1))
                dt = time.perf_counter() - t
            if dt < best:
                best, bb = dt, timer.seconds["backbone"]
        rows.append({"rounds": r, "step_s": best, "backbone_s": bb})
    return rows


def sec_sampler(cfg: BenchConfig, model, out: dict) -> list[dict]:
    from pan_gym.diffusion.swin_dpm import SwinDenoiser

    d, original, rows = model.cfg.diffusion, model.sampler, []
    try:
        for steps in cfg.sampler_steps:
            model.sampler = SwinDenoiser(steps, d.shift, d.cond_sigma, d.noise_offset)
            row = {"steps": steps}
            for b in cfg.sampler_batches:
                state = steady_state(model, b)
                dt = time_step(model, state, b, cfg.repeats)
                row[b] = {"step_s": dt, "frames_per_s": b * model.cfg.frames_per_chunk / dt}
            rows.append(row)
    finally:
        model.sampler = original
    return rows


def sec_chunk(cfg: BenchConfig, model, out: dict) -> list[dict]:
    """The same weights run at each T of ``cfg.chunk_frames`` (only the number of frames per chunk differs)."""
    rows, ref = [], {}
    for t in cfg.chunk_frames:
        m = model
        if t != model.cfg.frames_per_chunk:
            m = type(model).from_config(dataclasses.replace(model.cfg, frames_per_chunk=t))
            m.load_state_dict(model.state_dict())
            m.eval()
            warm_text(m)
        row = {"frames_per_chunk": t}
        for b in cfg.sampler_batches:
            state = steady_state(m, b)
            dt, flops = time_step(m, state, b, cfg.repeats), step_flops(m, state, b)[0]
            ref.setdefault(b, (dt, flops))
            row[b] = {
                "step_s": dt,
                "frames_per_s": b * t / dt,
                "over_first": dt / ref[b][0],
                "flops_over_first": flops / ref[b][1],
            }
        rows.append(row)
    return rows


def sec_cache(cfg: BenchConfig, model, out: dict) -> dict:
    from pan_gym.perf.cache import cache_vs_recompute, prefix_vs_window

    rows, rollout = cache_vs_recompute(model, cfg.cache_rounds, max(cfg.repeats, 3))
    decoder = prefix_vs_window(model, cfg.component_batches, max(cfg.repeats, 3))
    return {"rows": rows, "rollout": rollout, "decoder": decoder}


def sec_env(cfg: BenchConfig, model, out: dict) -> dict:
    from pan_gym.perf.envs import env_throughput

    out_env = {}
    for prec in cfg.precisions:
        r = env_throughput(model, cfg.env_num, cfg.env_steps, cfg.repeats, precision=prec)
        r["vector_over_singles"] = r["vector"] / r["singles"]
        r["latent_over_decoded"] = r["latent"] / r["singles"]
        out_env[prec] = r
    return out_env


def sec_memory(cfg: BenchConfig, model, out: dict) -> dict:
    gc.collect()
    state, gen = model.start(bench_frames(model, 1)), torch.Generator().manual_seed(0)
    marks, t0 = [], time.perf_counter()
    for k in range(1, cfg.rollout_steps + 1):
        model.step(state, bench_actions(1, k), gen)
        if k % 100 == 0 or k == cfg.rollout_steps:
            state_bytes = sum(t.numel() * t.element_size() for t in state.tensors())
            marks.append({"step": k, "rss": rss_bytes(), "state_bytes": state_bytes})
    elapsed = time.perf_counter() - t0
    ref = next((m for m in marks if m["step"] >= 100), marks[0])
    return {
        "marks": marks,
        "growth": marks[-1]["rss"] / ref["rss"] - 1.0,
        "from_step": ref["step"],
        "steps_per_s": cfg.rollout_steps / elapsed,
    }


RUNNERS: dict[str, Callable] = {
    "machine": lambda cfg, model, out: machine(),
    "peak": sec_peak,
    "components": sec_components,
    "batch": sec_batch,
    "history": sec_history,
    "sampler": sec_sampler,
    "chunk": sec_chunk,
    "cache": sec_cache,
    "env": sec_env,
    "memory": sec_memory,
    "cem": sec_cem,
    "bf16_weights": sec_bf16_weights,
    "threads": sec_threads,
    "compile": sec_compile,
}


# ---- printing ----------------------------------------------------------------------------------------------------
def run_suite(cfg: BenchConfig, echo: Callable[..., None] = print) -> dict:
    """Run the selected sections in order, printing each table as it completes; returns all figures."""
    unknown = set(cfg.sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = resolve_model(cfg.model, overrides=cfg.config)
    warm_text(model)
    out: dict = {"model": cfg.model, "config": cfg.config, "describe": describe(model)}
    echo(f"## pan-gym bench: model={cfg.model} config={cfg.config or '-'}\n{out['describe']}\n", flush=True)
    order = [s for s in SECTIONS if s in cfg.sections]
    if "batch" in order and "peak" not in order:
        order.insert(0, "peak")  # the fraction of peak needs it
    with torch.no_grad():
        for name in order:
            t = time.perf_counter()
            out[name] = RUNNERS[name](cfg, model, out)
            echo(
                "\n".join(render(name, out[name], cfg, out)) + f"({time.perf_counter() - t:.0f} s)\n",
                flush=True,
            )
    for line in goals(out):
        echo(line)
    out["config_used"] = dataclasses.asdict(cfg)
    return out
