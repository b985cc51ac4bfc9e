"""PNG figures for the evaluation report (matplotlib, Agg backend: no display needed).

Each function takes the suite's results (or example frames) and a path, writes one PNG and returns the path.

Example:
    >>> import tempfile, numpy as np
    >>> frames = np.zeros((3, 64, 64, 3), np.uint8)
    >>> filmstrip(frames, frames, Path(tempfile.mkdtemp()) / "strip.png", "example").suffix
    '.png'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"model": "tab:blue", "copy": "tab:gray", "oracle": "tab:green"}


def _save(fig: Any, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def horizon_curves(results: dict[str, Any], path: Path) -> Path:
    """Error vs horizon: PSNR, SSIM and (tiled worlds) tile accuracy per step, one line per simulator and horizon."""
    simulators = results["simulators"]
    keys = ["psnr", "ssim"] + (["tile_accuracy"] if results["meta"]["tile_size"] else [])
    titles = {"psnr": "PSNR (dB)", "ssim": "SSIM", "tile_accuracy": "grid cells right"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, r in simulators.items():
            for j, (h, hr) in enumerate(sorted(r["horizon"].items(), key=lambda kv: -int(kv[0]))):
                y = [np.nan if v is None else v for v in hr[key]]
                ax.plot(
                    np.arange(1, len(y) + 1),
                    y,
                    color=COLORS.get(name),
                    ls="-" if j == 0 else ":",
                    label=f"{name} (H={h})",
                )
        ax.set_xlabel("action step")
        ax.set_title(titles[key])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{results['meta']['world']}: open-loop error vs horizon", y=1.04)
    return _save(fig, path)


def smoothness_bars(results: dict[str, Any], path: Path) -> Path:
    """Transition smoothness of the true video and of each simulator's, per frame and per action (longest H)."""
    simulators = results["simulators"]
    h = str(max(int(k) for k in next(iter(simulators.values()))["horizon"]))
    labels = ["true"] + list(simulators)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (title, pick) in zip(
        axes, [("per frame (PAN)", lambda s: s), ("per action", lambda s: s["per_action"])], strict=True
    ):
        first = pick(simulators[labels[1]]["horizon"][h]["smoothness"])
        vals = [first["true"]] + [
            pick(simulators[n]["horizon"][h]["smoothness"])["imagined"] for n in labels[1:]
        ]
        ax.bar(labels, vals, color=["tab:orange"] + [COLORS.get(n, "tab:purple") for n in labels[1:]])
        ax.set_title(f"smoothness {title}, H={h}")
        ax.set_ylabel("median velocity × exp(−median accel.)")
    return _save(fig, path)


def filmstrip(true: np.ndarray, pred: np.ndarray, path: Path, title: str, max_cols: int = 10) -> Path:
    """Two rows, true above imagined, of up to ``max_cols`` evenly spaced frames from (L, H, W, 3) each."""
    n = len(true)
    idx = np.unique(np.round(np.linspace(0, n - 1, min(n, max_cols))).astype(int))
    fig, axes = plt.subplots(2, len(idx), figsize=(1.3 * len(idx), 2.9), squeeze=False)
    for c, i in enumerate(idx):
        for r, (frames, name) in enumerate(((true, "true"), (pred, "imagined"))):
            ax = axes[r][c]
            ax.imshow(frames[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"step {i + 1}", fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def fidelity_examples(ex: dict[str, Any], path: Path, title: str) -> Path:
    """Columns of (before, true after, imagined after) for a few changing transitions."""
    n = len(ex["text"])
    fig, axes = plt.subplots(3, max(n, 1), figsize=(1.6 * max(n, 1), 5.2), squeeze=False)
    for c in range(n):
        for r, key in enumerate(("before", "true", "pred")):
            ax = axes[r][c]
            ax.imshow(ex[key][c], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel({"before": "before", "true": "true", "pred": "imagined"}[key], fontsize=8)
        axes[0][c].set_title(ex["text"][c][:24], fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)
