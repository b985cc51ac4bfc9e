"""Measuring tools for the speed harness: wall-clock timing, per-component timers, FLOP counts, matmul peak,
resident memory and a description of the machine.

Example:
    >>> t = best_of(lambda: sum(range(1000)), repeats=3)
    >>> t > 0
    True
    >>> rss_bytes() > 0
    True
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections import defaultdict
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count


def best_of(fn: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None) -> float:
    """Best (minimum) wall time in seconds of ``repeats`` calls; ``setup()`` runs untimed before each call and its
    result, if not None, is passed to ``fn``. The minimum is the least load-disturbed figure on a shared machine."""
    times = []
    for _ in range(repeats):
        arg = setup() if setup is not None else None
        t = time.perf_counter()
        fn() if arg is None else fn(arg)
        times.append(time.perf_counter() - t)
    return min(times)


def side_by_side(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each function, calls interleaved (A B C A B C …) so that machine load hits all alike."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def peak_key(precision: str) -> str:
    """The matmul peak a precision is measured against: ``fp32``, or ``bf16`` for autocast and bf16 weights."""
    return "fp32" if precision == "fp32" else "bf16"


class ComponentTimer:
    """Wall time spent in each part of a ``PanWorldModel`` while active (a context manager).

    Parts: ``text`` (action text encoder), ``backbone`` (``backbone.step``), ``dit`` (each ``decoder`` call: one
    per Euler step of the sampler), ``vae_decode`` (``latent.decode``), ``encoder`` (h on the drawn frame). The
    methods are wrapped on the instances and restored on exit; none of these parts calls another.
    """

    PARTS = (
        ("text", "text", "forward"),
        ("backbone", "backbone", "step"),
        ("dit", "decoder", "forward"),
        ("vae_decode", "latent", "decode"),
        ("encoder", "encoder", "forward"),
    )

    def __init__(self, model) -> None:
        self.model = model
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._patched: list[object] = []

    def _wrap(self, obj, attr: str, name: str) -> None:
        orig = getattr(obj, attr)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return orig(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t
                self.calls[name] += 1

        object.__setattr__(obj, attr, timed)  # an instance attribute shadows the class's method
        self._patched.append((obj, attr))

    def __enter__(self) -> ComponentTimer:
        for name, part, attr in self.PARTS:
            self._wrap(getattr(self.model, part), attr, name)
        return self

    def __exit__(self, *exc) -> None:
        for obj, attr in self._patched:
            object.__delattr__(obj, attr)
        self._patched.clear()


def _cpu_flash_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def count_flops(fn: Callable[[], object]) -> tuple[float, dict[str, float]]:
    """FLOPs of one call (matmuls, attention, convolutions: ``torch.utils.flop_counter``) and per top-level
    module class (e.g. ``Qwen2_5_VLTextModel``, ``Decoder``, ``VisionEncoder``). The CPU attention kernel, which
    torch's counter does not know, is counted as the dense attention it computes (masked entries included)."""
    cpu_flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    counter = FlopCounterMode(display=False, custom_mapping={cpu_flash: _cpu_flash_flops})
    with counter:
        fn()
    per_module = {
        k: float(sum(v.values()))
        for k, v in counter.get_flop_counts().items()
        if k != "Global" and "." not in k and sum(v.values())
    }
    return float(counter.get_total_flops()), per_module


def matmul_peak(dtype: torch.dtype, n: int = 1024, seconds: float = 0.5, repeats: int = 3) -> float:
    """The machine's own matmul throughput in GFLOP/s: a square ``n × n`` matmul in ``dtype``, best of
    ``repeats`` timings of about ``seconds`` each, with the current torch thread setting."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    t = time.perf_counter()
    a @ b
    once = max(time.perf_counter() - t, 1e-6)
    reps = max(2, int(seconds / once))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, (time.perf_counter() - t) / reps)
    return 2 * n**3 / best / 1e9


def rss_bytes() -> int:
    """Resident set size of this process now (``/proc/self/statm``; the peak from ``getrusage`` elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``/proc/cpuinfo``; empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16() -> bool:
    """True when the CPU computes bf16 matmuls natively (AVX512-BF16 or AMX). Without them bf16 is emulated:
    on an AVX2-only CPU a small-preset training step under bf16 autocast took 20x the fp32 time (32 s against 1.6 s)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def machine() -> dict[str, str]:
    """CPU model, cores, flags that matter for matmuls, load average, library versions, torch threads."""
    model = platform.processor() or "unknown"
    if model in ("unknown", "x86_64", ""):
        try:
            with open("/proc/cpuinfo") as f:
                model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
        except OSError:
            pass
    have = cpu_flags()
    flags = " ".join(x for x in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if x in have)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    import diffusers
    import transformers

    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "flags": flags,
        "load average (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in load),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "diffusers": diffusers.__version__,
        "torch threads": str(torch.get_num_threads()),
    }
