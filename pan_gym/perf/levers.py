"""Speed levers beyond the defaults, measured side by side: the model cast to bf16, torch threads, torch.compile.

Sections of ``pan-gym bench`` (registered in ``pan_gym.perf.suite``); each takes (cfg, model, out) and returns its
figures.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING

import torch

from pan_gym.env.models import with_precision
from pan_gym.perf.stepping import bench_actions, bench_frames, steady_state, warm_text
from pan_gym.perf.timing import side_by_side

if TYPE_CHECKING:
    from pan_gym.perf.suite import BenchConfig


def sec_bf16_weights(cfg: BenchConfig, model, out: dict) -> dict:
    """A lever beyond autocast: the model cast to bf16 (``precision="bf16-weights"``: no per-call weight casts).
    Latent-only and decoded steps side by side with fp32 and fp32 + autocast, the relative change of ŝ and of
    the decoded frame (CEM at every precision: the ``cem`` section)."""
    half, _ = with_precision(model, "bf16-weights")
    warm_text(half)
    rows = {"latent": [], "decoded": []}
    arms = {"fp32": "fp32", "autocast": "bf16", "bf16_weights": "bf16-weights"}
    for kind, decode in (("latent", False), ("decoded", True)):
        for b in cfg.batches:

            def run(prec, b=b, decode=decode):
                m, ctx = with_precision(model, prec)
                state = steady_state(model, b, precision=prec, decode=decode)

                def go():
                    with ctx():
                        m.step(
                            state.snapshot(),
                            bench_actions(b, 3),
                            torch.Generator().manual_seed(1),
                            decode=decode,
                        )

                return go

            rows[kind].append({"batch": b, **side_by_side({k: run(p) for k, p in arms.items()}, cfg.repeats)})
    start = bench_frames(model, 1)
    (s16, f16), (s32, f32) = (
        m.step(m.start(start), bench_actions(1), torch.Generator().manual_seed(1)) for m in (half, model)
    )
    result = {
        "rows": rows["latent"],
        "decoded_rows": rows["decoded"],
        "state_rel_diff": float((s16.float() - s32).abs().max() / s32.abs().max().clamp(min=1e-12)),
        "frame_abs_diff": float((f16.float() - f32.float()).abs().mean()),  # grey levels of 255
    }
    return result


def sec_threads(cfg: BenchConfig, model, out: dict) -> list[dict]:
    rows, before = [], torch.get_num_threads()
    try:
        for b in sorted({1, 16} & set(cfg.batches) or {cfg.batches[0]}):
            state = steady_state(model, b)

            def run(n, state=state, b=b):
                def go():
                    torch.set_num_threads(n)
                    s = state.snapshot()
                    model.step(s, bench_actions(b, 3), torch.Generator().manual_seed(1))

                return go

            best = side_by_side({n: run(n) for n in cfg.thread_counts}, cfg.repeats)
            rows.append({"batch": b, **{f"threads_{n}": v for n, v in best.items()}})
    finally:
        torch.set_num_threads(before)
    return rows


def sec_compile(cfg: BenchConfig, model, out: dict) -> dict:
    """``torch.compile`` of the DiT and the LM on a deep copy (the model itself is left as it was)."""
    eager = model
    compiled = copy.deepcopy(model)
    torch._dynamo.reset()
    compiled.decoder.dit.compile(dynamic=False)
    compiled.backbone.lm.compile(dynamic=True)
    b = 1
    state = steady_state(eager, b)
    t = time.perf_counter()
    try:
        s = state.snapshot()
        compiled.step(s, bench_actions(b, 3), torch.Generator().manual_seed(1))
        compiled.step(s, bench_actions(b, 3), torch.Generator().manual_seed(1))
    except Exception as e:  # report, do not fail the suite
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
    compile_s = time.perf_counter() - t

    def run(m):
        def go():
            s = state.snapshot()
            m.step(s, bench_actions(b, 3), torch.Generator().manual_seed(1))

        return go

    best = side_by_side({"eager": run(eager), "compiled": run(compiled)}, cfg.repeats)
    return {"batch": b, "compile_s": compile_s, **best}
