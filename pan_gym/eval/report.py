"""Write the suite's results: ``report.json`` (every figure, sample size and seed), ``report.md`` (a table beside
PAN's numbers, and the plots) and PNGs named ``<stem>_*.png`` beside them.

Example:
    >>> import tempfile
    >>> from pan_gym.eval.suite import EvalConfig, run_suite
    >>> cfg = EvalConfig(n_states=3, n_rollouts=2, horizons=(4,), planning_episodes=2, progress=False)
    >>> paths = write_report(run_suite("babyai", "tiny", cfg), Path(tempfile.mkdtemp()) / "report.json")
    >>> [p.name for p in paths][:4]
    ['report.json', 'report.md', 'report_horizon.png', 'report_smoothness.png']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pan_gym.eval import plots
from pan_gym.eval.stats import wilson


def to_jsonable(x: Any) -> Any:
    """Drop keys starting with ``_`` (example frames), turn numpy scalars/arrays and tuples into JSON types."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _num(v: float | None, fmt: str = "{:.3g}") -> str:
    return "–" if v is None else fmt.format(v)


def _ratio(v: float | None) -> str:
    return "– (static truth)" if v is None else f"{v:.2f}×"


def _last(curve: list[float | None]) -> float | None:
    """The last defined value of a per-step curve."""
    return next((v for v in reversed(curve) if v is not None), None)


def _at(curve: list[float | None] | None, step: int) -> float | None:
    """A per-step curve's value after ``step`` actions (1-based); None when absent (older reports)."""
    return curve[step - 1] if curve and len(curve) >= step else None


# Result keys of the two long-horizon walks (``eval.horizon.WALKS``) and how the report names them.
WALK_LABELS = {"horizon": "listing walk", "horizon_primitive": "primitive walk"}


def _ci(count: list[int] | None) -> str:
    """A proportion ``[k, n]`` as "value [lo, hi]" (95 % Wilson, percent)."""
    if not count or not count[1]:
        return "–"
    lo, hi = wilson(*count)
    return f"{100 * count[0] / count[1]:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _horizon_rows(row, key: str, label: str, h: str, hr: dict[str, Any], tiled: bool, ref: dict) -> None:
    """The rows of one walk at one horizon (``row`` appends a row for every simulator)."""
    n = str(hr["n"])
    end = hr.get("steps_reached", int(h))  # the world's time limit may stop every rollout before H
    row(f"{label}: PSNR at step 1 (dB)", "", lambda r: r[key][h]["psnr"][0], n, _num)
    row(f"{label}: PSNR at step {end} (dB)", "", lambda r: _last(r[key][h]["psnr"]), n, _num)
    row(f"{label}: SSIM at step {end}", "", lambda r: _last(r[key][h]["ssim"]), n, _num)
    if tiled:
        for k in sorted({1, min(5, end), end}):
            row(
                f"{label}: whole grid right after {k} action{'s' * (k > 1)} (% of rollouts [95 % CI])",
                "",
                lambda r, k=k: _at(r[key][h].get("grid_exact_count"), k),
                n,
                _ci,
            )
        row(
            f"{label}: grid cells right at step {end} (%)", "", lambda r: _last(r[key][h]["tile_accuracy"]), n
        )
    row(
        f"{label}: smoothness imagined / true, per frame (×)",
        f"{ref['smoothness']}",
        lambda r: r[key][h]["smoothness"]["ratio"],
        n,
        _ratio,
    )
    row(
        f"{label}: smoothness imagined / true, per action (×)",
        "",
        lambda r: r[key][h]["smoothness"]["per_action"]["ratio"],
        n,
        _ratio,
    )
    c = "consistency_tile_accuracy" if tiled else "consistency_ssim"
    row(
        f"{label}: consistency, late/early {c.split('_', 1)[1]} (%)",
        f"{ref['consistency']}",
        lambda r: r[key][h][c]["ratio"],
        n,
    )


def template_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """One action, per template: the share of changing transitions whose outcome is shown (fidelity, with its 95 %
    Wilson interval) and step-wise accuracy (train phrasing), one column pair per simulator."""
    ims = results["simulators"]
    names = list(ims)
    rows = []
    for kind in ("agent", "environment"):
        templates = sorted({t for r in ims.values() for t in r["fidelity"][kind].get("per_template", {})})
        for t in templates:
            cells = []
            for name in names:
                f = ims[name]["fidelity"][kind].get("per_template", {}).get(t)
                sw = ims[name]["stepwise"]["train"].get("by_template", {}).get(t)
                cells.append(_ci([f["shown"], f["n"]]) if f and "shown" in f else "–")
                cells.append(f"{_pct(sw['accuracy'])} (n {sw['n']})" if sw else "–")
            f0 = ims[names[0]]["fidelity"][kind]["per_template"].get(t, {})
            rows.append([kind, f"`{t}`", str(f0.get("n", 0)), *cells])
    shown = "whole grid right" if results["meta"]["tile_size"] is not None else "outcome shown"
    head = ["kind", "template", "n (changing)"]
    for name in names:
        head += [f"{name}: {shown} [95 % CI]", f"{name}: step-wise"]
    return head, rows


def summary_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The headline table: a header (metric, PAN, one column per simulator, n) and its rows."""
    ims, ref = results["simulators"], results["reference"]["pan_percent"]
    names = list(ims)
    tiled = results["meta"]["tile_size"] is not None
    rows: list[list[str]] = []

    def row(label: str, pan: str, get, n: str, fmt=_pct) -> None:
        rows.append([label, pan, *(fmt(get(ims[k])) for k in names), n])

    for kind in ("agent", "environment"):
        f0 = ims[names[0]]["fidelity"][kind]
        n = f"{f0.get('n_changed', 0)} of {f0.get('n', 0)}"
        row(
            f"fidelity, {kind} (% on changing frames)",
            f"{ref[f'fidelity_{kind}']}",
            lambda r, k=kind: r["fidelity"][k].get("fidelity"),
            n,
        )
        row(
            f"copy rate, {kind} (% of changing, lower is better)",
            "",
            lambda r, k=kind: r["fidelity"][k].get("copy_rate"),
            n,
        )
        if tiled:
            row(
                f"pixel-exact fidelity, {kind} (% on changing frames)",
                "",
                lambda r, k=kind: r["fidelity"][k].get("fidelity_pixel_exact"),
                n,
            )
            row(
                f"grid cells right, {kind} (%, changing)",
                "",
                lambda r, k=kind: r["fidelity"][k].get("tile_accuracy_changed"),
                n,
            )
    sw = ims[names[0]]["stepwise"]
    for split in ("train", "heldout"):
        for kind in ("agent", "environment"):
            got = sw[split].get("by_kind", {}).get(kind)
            if got:
                row(
                    f"step-wise, {kind}, {split} phrasing (%; chance 25)",
                    f"{ref['stepwise']}",
                    lambda r, s=split, k=kind: r["stepwise"][s]["by_kind"][k]["accuracy"],
                    str(got["n"]),
                )
    for key, walk in WALK_LABELS.items():
        for h, hr in sorted(ims[names[0]].get(key, {}).items(), key=lambda kv: int(kv[0])):
            _horizon_rows(row, key, f"{walk} H={h}", h, hr, tiled, ref)
    sd = ims[names[0]].get("success")
    if sd:
        n = f"{sd['successes']} of {sd['n']} steps"
        for k in ("precision", "recall"):
            row(f"success detection, {k} (%; the reward head's termination)", "", lambda r, k=k: _sd(r, k), n)
    row(
        "seconds per imagined step (one rollout)",
        "",
        lambda r: r["speed"].get("seconds_per_imagined_step"),
        "",
        lambda v: _num(v, "{:.2e}"),
    )
    return ["metric", "PAN (%)", *names, "n"], rows


def _sd(r: dict[str, Any], key: str) -> float | None:
    """A success-detection proportion of one simulator (None where it said no success at all)."""
    return (r.get("success") or {}).get(key, {}).get("value")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def markdown(results: dict[str, Any], images: dict[str, str]) -> str:
    """The report as Markdown: the table, planning, speed, the plots and how the figures were made."""
    meta = results["meta"]
    head, rows = summary_rows(results)
    lines = [
        f"# pan-gym evaluation: {meta['world']}, model `{meta['model']}`",
        "",
        f"Judged by the true simulator. {results['reference']['note']}",
        f"Model chunks: {meta['model_frames_per_action']} frames per action; world chunks: {meta['world_frames_per_action']} "
        "(metrics compare the final frame of each chunk).",
        f"Evaluation seeds from {meta['seeds']['eval_seed_base']:,} (training seeds {meta['seeds']['train_seeds'][0]:,}–"
        f"{meta['seeds']['train_seeds'][1]:,}, disjoint); {meta['seconds']:.0f} s, {meta['torch_threads']} torch thread(s).",
        "",
        *_table(head, rows),
        "",
        "## One action, per template",
        "",
        "Each template on its own, counted on transitions whose true frame changes (fidelity draws a template "
        "uniformly from the world's listing, then one of its actions, in a train phrasing). Step-wise: the true "
        "action's template; n there is its own.",
        "",
        *_table(*template_rows(results)),
        "",
        "## Planning (success in the real world)",
        "",
        "| planner | success (%) | mean steps | s / decision | episodes |",
        "|---|---|---|---|---|",
    ]
    for name, p in results["planning"].items():
        if p is None:
            lines.append(f"| {name} | not run (agents issue) | | | |")
        else:
            lines.append(
                f"| {name} | {_pct(p['success_rate'])} | {_num(p['mean_steps'])} | "
                f"{_num(p['seconds_per_decision'], '{:.2e}')} | {p['n']} (≤ {p['max_steps']} steps) |"
            )
    lines += ["", "## Plots", ""]
    lines += [f"![{k}]({v})" for k, v in images.items()]
    lines += [
        "",
        "## How to read this",
        "",
        "- Fidelity: the imagined final frame shows the true outcome ("
        + (
            f"every grid cell shows the true tile, each read as the {reading}; pixel-exact: every pixel equal"
            if (reading := results["meta"].get("tile_reading"))
            else "nearer the true frame than the start and PSNR above the threshold"
        )
        + "), counted on "
        "transitions whose true frame changes; copying the previous frame scores 0 there (copy rate says how often "
        "the simulator did that instead).",
        "- Step-wise: the imagined outcome is nearer (MSE) to the true one than to 3 distractor outcomes.",
        "- Each start (and each walk to a template it does not offer) is given to the simulator with its past: the "
        "actions that led there and their true frames, which a model runs through its backbone.",
        "- Smoothness: PAN's median flow velocity × exp(−median acceleration); shown as imagined / true.",
        "- Consistency: mean score over the last quarter of the horizon / first quarter (1 = no drift); read it "
        "with the absolute scores (a simulator that is wrong from the first step does not drift either).",
        "- Long horizons: open-loop rollouts from the start frame (and its past). The listing walk (the headline) draws each "
        "action as a user meets them, a template uniformly from the world's whole listing (agent actions and "
        "environment events); the primitive walk takes forward-biased single steps. Every step of both changes the "
        "true frame (a draw that would not is drawn again), so copying is wrong at every step. They stop at the "
        "world's time limit (Meta-World: 20 actions); per-step sample sizes are in the JSON.",
        "- Full figures, per-step curves and sample sizes: the JSON beside this file.",
    ]
    return "\n".join(lines) + "\n"


def write_report(results: dict[str, Any], out: str | Path) -> list[Path]:
    """Write ``out`` (JSON), ``out.with_suffix('.md')`` and the PNGs; returns every path written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    images: dict[str, Path] = {
        "error vs horizon": plots.horizon_curves(results, Path(f"{stem}_horizon.png")),
        "smoothness": plots.smoothness_bars(results, Path(f"{stem}_smoothness.png")),
    }
    for name, r in results["simulators"].items():
        if name == "copy":
            continue
        longest = r["horizon"][str(max(int(h) for h in r["horizon"]))]
        ex = longest.get("_examples")
        if ex:
            images[f"{name}: imagined vs true rollout"] = plots.filmstrip(
                ex["true"],
                ex["pred"],
                Path(f"{stem}_{name}_rollout.png"),
                f"{name}, seed {ex['seed']}: open-loop rollout of {len(ex['actions'])} actions",
            )
        for kind in ("agent", "environment"):
            fx = r["fidelity"][kind].get("_examples")
            if fx and len(fx["text"]):
                images[f"{name}: {kind} actions"] = plots.fidelity_examples(
                    fx, Path(f"{stem}_{name}_{kind}.png"), f"{name}: {kind} actions (changing transitions)"
                )
    out.write_text(json.dumps(to_jsonable(results), indent=1))
    md = out.with_suffix(".md")
    md.write_text(markdown(results, {k: v.name for k, v in images.items()}))
    return [out, md, *images.values()]
