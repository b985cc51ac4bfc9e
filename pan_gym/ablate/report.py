"""The ablation report: one table per claim (every figure with its 95 % interval and sample size), a plot of error
vs horizon per variant, and a conclusion per claim written from the numbers.

Figures (all on start states and rollouts never used in training; seeds pooled):
- step-wise simulation, per kind (agent action, environment event) and phrasing (train, held-out): Wilson interval;
- whole grid right after 1, 5 and H actions of an open-loop rollout (tiled worlds): Wilson interval over the rollouts
  that reach that step;
- smoothness, imagined / true per action (PAN's median velocity × exp(−median acceleration) on the start frame and
  each chunk's final frame; per frame it is degenerate on BabyAI, whose chunks repeat frames): bootstrap over rollouts;
- consistency, the late / early ratio of the mean per-step cells-right curve (SSIM without tiles): bootstrap.

Example:
    >>> e = {"stepwise/agent/train": Estimate(0.5, 0.3, 0.7, 20, "wilson")}
    >>> cell(e["stepwise/agent/train"], "pct")
    '50.0 [30.0, 70.0] n=20'
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from pan_gym.ablate.variants import CLAIMS, QUESTIONS, Run, Variant
from pan_gym.eval import metrics as M
from pan_gym.eval.horizon import MIN_MOTION
from pan_gym.eval.stats import Estimate, bootstrap, disjoint, proportion

COPY_LABEL = "copy baseline (ignores the action)"


def metric_rows(horizon: int) -> list[tuple[str, str, str]]:
    """(key, label, format) of every row of a claim's table."""
    rows = [
        (f"stepwise/{kind}/{split}", f"step-wise, {kind}, {split} phrasing (%; chance 25)", "pct")
        for kind in ("agent", "environment")
        for split in ("train", "heldout")
    ]
    rows += [(f"exact@{k}", f"whole grid right after {k} action(s) (%)", "pct") for k in exact_steps(horizon)]
    rows += [
        ("smoothness", "smoothness, imagined / true, per action (×; 1 = as smooth as the truth)", "ratio"),
        ("consistency", f"consistency over {horizon} actions, late / early (%; 100 = no drift)", "pct"),
    ]
    return rows


def exact_steps(horizon: int) -> list[int]:
    return sorted({1, min(5, horizon), horizon})


def _curve(rows: np.ndarray, key: str, horizon: int) -> list[float]:
    """Mean per step over the rollouts that reach it (the suite's ``_nanmean``)."""
    out = []
    for t in range(horizon):
        vals = [r[key][t] for r in rows if len(r[key]) > t]
        if vals:
            out.append(float(np.mean(vals)))
    return out


def estimates(results: list[dict[str, Any]], simulator: str = "model") -> dict[str, Estimate]:
    """Every table figure of one simulator, pooled over the results of several seeds."""
    out: dict[str, Estimate] = {}
    for kind in ("agent", "environment"):
        for split in ("train", "heldout"):
            k = n = 0
            for r in results:
                got = r["simulators"][simulator]["stepwise"][split].get("by_kind", {}).get(kind)
                if got and got["n"]:
                    k, n = k + round(got["accuracy"] * got["n"]), n + got["n"]
            out[f"stepwise/{kind}/{split}"] = proportion(k, n)
    rows = [row for r in results for row in r["simulators"][simulator]["per_rollout"]]
    horizon = int(results[0]["meta"]["ablation_eval"]["horizon"])
    tiled = bool(rows) and "grid_exact" in rows[0]
    for step in exact_steps(horizon):
        if tiled:
            vals = [row["grid_exact"][step - 1] for row in rows if row["steps"] >= step]
            out[f"exact@{step}"] = proportion(int(round(sum(vals))), len(vals))
        else:
            out[f"exact@{step}"] = Estimate(None, None, None, 0, "wilson")

    def smooth(rs: np.ndarray) -> float | None:
        true = float(np.mean([r["smooth_true_action"] for r in rs]))
        return float(np.mean([r["smooth_pred_action"] for r in rs])) / true if true > MIN_MOTION else None

    score = "tile_accuracy" if tiled else "ssim"

    def consistent(
        rs: np.ndarray,
    ) -> float | None:  # undefined when the early score is 0 (nothing to drift from)
        curve = _curve(rs, score, horizon)
        c = M.consistency(curve) if curve else {"early": 0.0}
        return c["ratio"] if c["early"] > 0 else None

    out["smoothness"] = bootstrap(rows, smooth)
    out["consistency"] = bootstrap(rows, consistent)
    return out


def error_curve(
    results: list[dict[str, Any]], simulator: str = "model"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per step: the error and its 95 % band, shapes (H,). Tiled worlds: the share of rollouts with some grid cell
    wrong (1 − whole grid right; Wilson band); others: 1 − SSIM (bootstrap band)."""
    rows = [row for r in results for row in r["simulators"][simulator]["per_rollout"]]
    horizon = int(results[0]["meta"]["ablation_eval"]["horizon"])
    tiled = bool(rows) and "grid_exact" in rows[0]
    mean, lo, hi = (np.full(horizon, np.nan) for _ in range(3))
    for t in range(horizon):
        if tiled:
            vals = [row["grid_exact"][t] for row in rows if len(row["grid_exact"]) > t]
            if vals:
                e = proportion(int(round(sum(vals))), len(vals))
                mean[t], lo[t], hi[t] = 1.0 - e.value, 1.0 - e.hi, 1.0 - e.lo
            continue
        vals = [1.0 - row["ssim"][t] for row in rows if len(row["ssim"]) > t]
        if vals:
            e = bootstrap(vals, lambda x: float(np.mean(x.astype(float))), n_boot=500)
            mean[t], lo[t], hi[t] = (
                e.value,
                e.lo if e.lo is not None else np.nan,
                e.hi if e.hi is not None else np.nan,
            )
    return mean, lo, hi


def cell(e: Estimate | None, fmt: str) -> str:
    """``value [lo, hi] n=N`` (percent or ×), or – when there was nothing to measure."""
    if e is None or e.value is None:
        return "–" if e is None or e.n == 0 else f"undefined n={e.n}"
    scale, unit = (100.0, "") if fmt == "pct" else (1.0, "×")
    value = f"{scale * e.value:.1f}{unit}" if fmt == "pct" else f"{e.value:.2f}{unit}"
    if e.lo is None:
        return f"{value} n={e.n}"
    if fmt == "pct":
        return f"{value} [{scale * e.lo:.1f}, {scale * e.hi:.1f}] n={e.n}"
    return f"{value} [{e.lo:.2f}, {e.hi:.2f}] n={e.n}"


def conclusion(
    claim: str, arms: list[tuple[Variant, dict[str, Estimate]]], horizon: int, setting: str
) -> str:
    """Plain words from the numbers: which figures' intervals separate from PAN's, with the caveats that apply.
    ``setting`` opens the text (what was trained, e.g. "At 2,000 optimizer steps per variant and 1 seed(s)")."""
    rows = metric_rows(horizon)
    ref_v, ref = next((v, e) for v, e in arms if v.pan)
    parts = [f"{setting}:"]
    sw = ref["stepwise/agent/train"]
    if sw.value is not None and sw.value <= 0.35:
        parts.append(
            f"PAN's own design ({ref_v.label}) is near chance on step-wise simulation ({100 * sw.value:.0f} %, chance "
            "25 %), so this budget says little about the claim."
        )
    smallest = min((e.n for _, est in arms for e in est.values() if e.value is not None), default=None)
    if smallest is not None and smallest < 30:
        parts.append(f"Samples are small (down to n = {smallest}), so the intervals are wide.")
    for v, est in arms:
        if v.pan:
            continue
        up, down, compared = [], [], 0
        for key, label, fmt in rows:
            if est[key].value is None or ref[key].value is None:
                continue
            compared += 1
            side = disjoint(est[key], ref[key])
            text = f"{label.split(' (')[0]} ({cell(est[key], fmt).split(' n=')[0]} vs {cell(ref[key], fmt).split(' n=')[0]})"
            (up if side > 0 else down if side < 0 else []).append(text)
        if not compared:
            parts.append(f"{v.label}: nothing to compare.")
        elif not up and not down:
            parts.append(
                f"{v.label}: every one of the {compared} figures' 95 % intervals overlaps PAN's; no difference shown "
                "at this sample size."
            )
        else:
            said = [
                f"higher than PAN on {'; '.join(up)}" if up else "",
                f"lower on {'; '.join(down)}" if down else "",
            ]
            rest = compared - len(up) - len(down)
            parts.append(f"{v.label}: {', '.join(s for s in said if s)}; the other {rest} figures overlap.")
    parts.append(
        "Disjoint 95 % intervals are a rough sign of a difference (no correction for the several comparisons); "
        "overlapping ones do not show the variants are equal. Seeds and items are pooled as independent draws, so "
        "the intervals leave out seed-to-seed variation."
    )
    return " ".join(parts)


def plot_claim(claim: str, curves: list[tuple[str, tuple[np.ndarray, ...]]], path: Path, ylabel: str) -> Path:
    """Error vs horizon, one line (with its 95 % band) per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, (mean, lo, hi) in curves:
        x = np.arange(1, len(mean) + 1)
        style = dict(color="tab:gray", ls="--") if label == COPY_LABEL else {}
        line = ax.plot(x, mean, marker=".", label=label, **style)[0]
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
    ax.set(
        xlabel="actions into the open-loop rollout",
        ylabel=ylabel,
        title=f"{claim}: error vs horizon",
        ylim=(-0.02, 1.02),
    )
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def write(out: Path, args: Any, runs: list[Run], scored: dict[str, list[dict[str, Any]]]) -> Path:
    """``OUT/ablations.md`` (+ ``ablations.json`` and one PNG per claim); returns the markdown's path."""
    horizon = int(args.horizon)
    by_variant = {v.name: r.key for r in runs for v in r.variants}
    first = scored[runs[0].key]
    copy = estimates(first, "copy") if "copy" in first[0]["simulators"] else None
    tiled = "grid_exact" in (first[0]["simulators"]["model"]["per_rollout"] or [{}])[0]
    ylabel = "rollouts with a wrong cell (1 − whole grid right)" if tiled else "1 − SSIM"
    lines = _header(args, runs)
    record: dict[str, Any] = {"args": asdict(args), "claims": {}}
    for claim in args.claims:
        # with --model, only the inference-time variants were scored
        shown = [v for v in CLAIMS[claim] if v.name in by_variant]
        arms = [(v, estimates(scored[by_variant[v.name]])) for v in shown]
        head = ["figure", *(f"{v.label} `{v.name}`" for v, _ in arms)] + ([COPY_LABEL] if copy else [])
        lines += [
            f"## {claim}",
            "",
            QUESTIONS[claim],
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
        ]
        for key, label, fmt in metric_rows(horizon):
            cells = [cell(e[key], fmt) for _, e in arms] + ([cell(copy[key], fmt)] if copy else [])
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        curves = [(v.label, error_curve(scored[by_variant[v.name]])) for v in shown]
        if copy:
            curves.append((COPY_LABEL, error_curve(first, "copy")))
        png = plot_claim(claim, curves, out / f"ablation_{claim}_horizon.png", ylabel)
        if args.model is None:
            setting = f"At {args.budget:,} optimizer steps per variant and {len(args.seeds)} seed(s)"
            if args.init is not None:
                setting += f", each continuing from `{args.init}` (trained with PAN's settings)"
        else:
            setting = f"On the trained model `{args.model}`, changed only at inference (it was trained with PAN's setting)"
        text = conclusion(claim, arms, horizon, setting)
        lines += [
            "",
            f"![{claim}: error vs horizon]({png.name})",
            "",
            f"**Conclusion** (written from the numbers above by `pan_gym.ablate.report.conclusion`; review before "
            f"quoting): {text}",
            "",
        ]
        record["claims"][claim] = {
            "variants": {
                v.name: {"run": by_variant[v.name], **{k: e.to_dict() for k, e in est.items()}}
                for v, est in arms
            },
            "conclusion": text,
        }
    md = out / "ablations.md"
    md.write_text("\n".join(lines) + "\n")
    (out / "ablations.json").write_text(json.dumps(record, indent=1))
    return md


def _header(args: Any, runs: list[Run]) -> list[str]:
    ev = args.eval_settings()
    if args.model is not None:
        trained = (
            f"Generated by `pan-gym ablate --model` on {time.strftime('%Y-%m-%d %H:%M')}: world `{args.world}`, no "
            f"training: the trained model `{args.model}` is scored under each variant's inference-time settings."
        )
    else:
        trained = (
            f"Generated by `pan-gym ablate` on {time.strftime('%Y-%m-%d %H:%M')}: world `{args.world}`, data "
            f"`{args.data}`, {args.budget:,} optimizer steps per variant, seeds {list(args.seeds)}, preset "
            f"`{args.preset}` with `--config {args.config!r}`, batch {args.batch_size}, window {args.window}, "
            f"lr {args.lr}, bf16 {args.bf16}, EMA {args.ema_decay}."
        )
        if args.init is not None:
            trained += f" Continued training: every run starts from `{args.init}` (its config, then the run's overrides)."
    return [
        "# Ablations of PAN's design claims",
        "",
        trained,
        f"Scored on {ev.n_states} start states (step-wise) and {ev.n_rollouts} open-loop rollouts of {ev.horizon} "
        "actions per seed, all from evaluation seeds disjoint from the training data's (from 1,000,000).",
        f"Runs: {', '.join(f'`{r.key}`' for r in runs)} (variants that resolve to the same config share a run).",
        "",
        "How to read: each cell is `value [95 % interval] n=sample size`. Step-wise and whole-grid figures are "
        "proportions (Wilson intervals); smoothness and consistency are bootstrapped over rollouts. Step-wise: the "
        "imagined outcome is nearer to the true one than to 3 distractors (chance 25 %; copying the start frame "
        "never wins). Full figures per run: `runs/<run>/seed-<s>/eval/report.md`.",
        "",
    ]
