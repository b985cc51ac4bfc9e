"""Markdown tables of ``pan-gym bench`` results and the goals table (what each section measured, what limits it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pan_gym.env.models import PRECISIONS
from pan_gym.perf.timing import peak_key

if TYPE_CHECKING:
    from pan_gym.perf.suite import BenchConfig


def _ms(s: float) -> str:
    return f"{s * 1e3:.1f}"


def render(name: str, r, cfg: BenchConfig, out: dict) -> list[str]:
    """Markdown lines for one section's result."""
    L = [f"### {name}"]
    if name == "machine":
        L += [f"- {k}: {v}" for k, v in r.items()]
    elif name == "peak":
        L += [
            f"| matmul {r['size']}² | GFLOP/s |",
            "|---|---|",
            f"| fp32 | {r['fp32']:.1f} |",
            f"| bf16 | {r['bf16']:.1f} |",
        ]
    elif name == "components":
        for row in r:
            b, tot = row["batch"], row["total_s"]
            L += [
                f"batch {b}: one step {_ms(tot)} ms, {row['flops'] / 1e9:.2f} GFLOP "
                f"({row['flops'] / tot / 1e9:.1f} GFLOP/s)",
                "",
                "| part | ms | share | calls | ms per call | GFLOP | GFLOP/s |",
                "|---|---|---|---|---|---|---|",
            ]
            for part, p in row["parts"].items():
                per = p["s"] / p["calls"] if p["calls"] else p["s"]
                gfs = f"{p['flops'] / p['s'] / 1e9:.1f}" if p["flops"] and p["s"] > 0 else "–"
                label = "dit (per call = per Euler step)" if part == "dit" else part
                L.append(
                    f"| {label} | {_ms(p['s'])} | {p['s'] / tot:.0%} | {p['calls']} | {_ms(per)} | "
                    f"{p['flops'] / 1e9:.2f} | {gfs} |"
                )
            L.append("")
    elif name == "batch":
        precs = [p for p in cfg.precisions if p in r[0]]
        head = "| batch | GFLOP/step (latent) |"
        for p in precs:
            head += f" {p} step ms | {p} frames/s | {p} latent steps/s | {p} GFLOP/s (% peak) | {p} latent GFLOP/s (% peak) |"
        L += [head, "|" + "---|" * (2 + 5 * len(precs))]
        for row in r:
            line = f"| {row['batch']} | {row['flops'] / 1e9:.2f} ({row['latent_flops'] / 1e9:.2f}) |"
            for p in precs:
                x = row[p]
                pk = f" ({x['of_peak']:.0%})" if "of_peak" in x else ""
                lpk = f" ({x['latent_of_peak']:.0%})" if "latent_of_peak" in x else ""
                line += (
                    f" {_ms(x['step_s'])} | {x['frames_per_s']:.1f} | {x['latent_steps_per_s']:.1f} | "
                    f"{x['gflops']:.1f}{pk} | {x['latent_gflops']:.1f}{lpk} |"
                )
            L.append(line)
        for p in (p for p in precs if p != "fp32" and "fp32" in precs):
            L.append("")
            L.append(
                f"{p} ÷ fp32 speed-up (decoded / latent): "
                + ", ".join(
                    f"batch {row['batch']}: {row['fp32']['step_s'] / row[p]['step_s']:.2f}× / "
                    f"{row['fp32']['latent_step_s'] / row[p]['latent_step_s']:.2f}×"
                    for row in r
                )
            )
    elif name == "history":
        L += ["| rounds in history | step ms | backbone ms |", "|---|---|---|"]
        L += [f"| {x['rounds']} | {_ms(x['step_s'])} | {_ms(x['backbone_s'])} |" for x in r]
    elif name == "sampler":
        bs = [k for k in r[0] if k != "steps"]
        L += ["| sampler steps |" + "".join(f" batch {b} step ms | batch {b} frames/s |" for b in bs)]
        L += ["|---|" + "---|---|" * len(bs)]
        for x in r:
            L.append(
                f"| {x['steps']} |"
                + "".join(f" {_ms(x[b]['step_s'])} | {x[b]['frames_per_s']:.1f} |" for b in bs)
            )
    elif name == "chunk":
        bs = [k for k in r[0] if k != "frames_per_chunk"]
        first = r[0]["frames_per_chunk"]
        L += [
            "| frames per chunk |"
            + "".join(f" batch {b} step ms | batch {b} frames/s | batch {b} ÷ T={first} |" for b in bs)
        ]
        L += ["|---|" + "---|---|---|" * len(bs)]
        for x in r:
            L.append(
                f"| {x['frames_per_chunk']} |"
                + "".join(
                    f" {_ms(x[b]['step_s'])} | {x[b]['frames_per_s']:.1f} | {x[b]['over_first']:.2f}× |"
                    for b in bs
                )
            )
    elif name == "cache":
        L += [
            "| rounds in history | cached ms | recompute ms | recompute ÷ cached | FLOP ratio |",
            "|---|---|---|---|---|",
        ]
        L += [
            f"| {x['rounds']} | {x['cached_ms']:.1f} | {x['recompute_ms']:.1f} | **{x['ratio']:.1f}×** | "
            f"{x['flop_ratio']:.1f}× |"
            for x in r["rows"]
        ]
        ro = r["rollout"]
        L.append(
            f"\nrollout mean over 3 × max_rounds steps: cached {ro['cached']:.1f} ms/step, recompute "
            f"{ro['recompute']:.1f} ms/step ({ro['recompute'] / ro['cached']:.1f}×)"
        )
        if r.get("decoder"):
            L += [
                "",
                "Decoder: one decoded step, slot-B steps against the previous chunk's recorded keys/values "
                "(`diffusion.reuse_prefix`, the default) vs over the whole Swin-DPM window",
                "",
                "| batch | prefix ms | whole window ms | window ÷ prefix | FLOP ratio |",
                "|---|---|---|---|---|",
            ]
            L += [
                f"| {x['batch']} | {x['prefix_ms']:.1f} | {x['window_ms']:.1f} | **{x['ratio']:.2f}×** | "
                f"{x['flop_ratio']:.2f}× |"
                for x in r["decoder"]
            ]
    elif name == "env":
        n = cfg.env_num
        L += [
            f"| precision | {n} singles in turn | vector-{n} | vector ÷ singles | vector-{n}, 10% terminations "
            "(cohorts) | latent-only single | latent-only ÷ decoded |",
            "|---|---|---|---|---|---|---|",
        ]
        L += [
            f"| {p} | {e['singles']:.1f} | {e['vector']:.1f} | **{e['vector_over_singles']:.2f}×** | "
            f"{e['vector_churn']:.1f} ({e['cohorts']}) | {e['latent']:.1f} | **{e['latent_over_decoded']:.1f}×** |"
            for p, e in r.items()
        ]
        L += ["", "(env-steps/s; every env of a row at that precision)"]
    elif name == "memory":
        L += ["| step | RSS MiB | rollout state KiB |", "|---|---|---|"]
        L += [
            f"| {m['step']} | {m['rss'] / 2**20:.1f} | {m['state_bytes'] / 2**10:.1f} |" for m in r["marks"]
        ]
        L.append(
            f"\nRSS growth from step {r['from_step']} to step {r['marks'][-1]['step']}: **{r['growth']:+.2%}** "
            f"({r['steps_per_s']:.1f} decoded steps/s at batch 1)"
        )
    elif name == "cem":
        precs = [p for p in cfg.precisions if p in r]
        L += [
            f"CEM: {r['samples']} candidates × horizon {r['horizon']} × {r['iterations']} iterations, latent-only "
            "ModelSimulator (one batched step per horizon step)",
            "",
            "| precision | first decision s (warm-up) | s per decision |",
            "|---|---|---|",
        ]
        L += [f"| {p} | {r[p]['first_s']:.2f} | **{r[p]['decision_s']:.2f}** |" for p in precs]
        g = r["goal"]
        L += [
            "",
            f"goal-image CEM: {g['samples']} candidates × horizon {g['horizon']} × {g['iterations']} iterations, "
            "decoded frames scored against a goal frame in the encoder's tokens",
            "",
            "| precision | first decision s (warm-up) | s per decision | ÷ fp32 |",
            "|---|---|---|---|",
        ]
        ref = g[precs[0]]["decision_s"] if precs else 1.0
        L += [
            f"| {p} | {g[p]['first_s']:.2f} | **{g[p]['decision_s']:.2f}** | {g[p]['decision_s'] / ref:.2f}× |"
            for p in precs
        ]
    elif name == "bf16_weights":
        for kind, key in (("latent-only", "rows"), ("decoded", "decoded_rows")):
            L += [
                f"{kind} step ms: fp32, fp32 + bf16 autocast, and the model cast to bf16 (side by side)",
                "",
                "| batch | fp32 ms | autocast ms | bf16 weights ms | autocast ÷ fp32 | bf16 weights ÷ fp32 |",
                "|---|---|---|---|---|---|",
            ]
            for x in r.get(key, []):
                L.append(
                    f"| {x['batch']} | {_ms(x['fp32'])} | {_ms(x['autocast'])} | {_ms(x['bf16_weights'])} | "
                    f"{x['fp32'] / x['autocast']:.2f}× | **{x['fp32'] / x['bf16_weights']:.2f}×** |"
                )
            L.append("")
        L.append(
            f"bf16 weights vs fp32 after one step: ŝ max relative difference {r['state_rel_diff']:.3f}, "
            f"frame mean absolute difference {r['frame_abs_diff']:.2f} grey levels (of 255)"
        )
    elif name == "threads":
        ks = [k for k in r[0] if k.startswith("threads_")]
        L += ["| batch |" + "".join(f" {k.split('_')[1]} thread(s) ms |" for k in ks) + " ratio |"]
        L += ["|---|" + "---|" * (len(ks) + 1)]
        for x in r:
            ratio = x[ks[0]] / x[ks[-1]] if len(ks) > 1 else 1.0
            L.append(f"| {x['batch']} |" + "".join(f" {_ms(x[k])} |" for k in ks) + f" {ratio:.2f}× |")
    elif name == "compile":
        if "error" in r:
            L.append(f"torch.compile failed: {r['error']}")
        else:
            L += [
                "| batch | compile s (first two steps) | eager ms | compiled ms | speed-up |",
                "|---|---|---|---|---|",
                f"| {r['batch']} | {r['compile_s']:.1f} | {_ms(r['eager'])} | {_ms(r['compiled'])} | "
                f"{r['eager'] / r['compiled']:.2f}× |",
            ]
    return L + [""]


def goals(out: dict) -> list[str]:
    """The issue's goals, each with the measured figure, met / not met, and the compute figure that limits it
    (FLOP counts and GFLOP/s of the same run)."""
    lines = []
    batch = {r["batch"]: r for r in out.get("batch", [])}

    def add(label, value, ok, bound="–"):
        lines.append(f"| {label} | {value} | {'met' if ok else 'NOT met'} | {bound} |")

    for x in out.get("chunk", [])[1:]:
        for b in (k for k in x if k != "frames_per_chunk" and k > 1):
            add(
                f"T={x['frames_per_chunk']} step ≤ 2× the T={out['chunk'][0]['frames_per_chunk']} step, batch {b}",
                f"{x[b]['over_first']:.2f}×",
                x[b]["over_first"] <= 2,
                f"FLOPs per step T={x['frames_per_chunk']} ÷ T={out['chunk'][0]['frames_per_chunk']}: "
                f"{x[b]['flops_over_first']:.2f}×",
            )
    if "cache" in out:
        last = max(out["cache"]["rows"], key=lambda x: x["rounds"])
        add(
            f"cached ≥ 5× recompute ({last['rounds'] + 1} rounds)",
            f"{last['ratio']:.1f}×",
            last["ratio"] >= 5,
            f"FLOPs recompute ÷ cached: {last['flop_ratio']:.1f}×",
        )
    for p, e in out.get("env", {}).items():
        bound = "–"
        if 1 in batch and p in batch[1]:
            best = max(r[p]["gflops"] for r in batch.values() if p in r)
            single = [batch[1][p]["gflops"]]  # batch 1, the least disturbed of the two readings
            if p == "fp32":
                single += [
                    r["flops"] / r["total_s"] / 1e9 for r in out.get("components", []) if r["batch"] == 1
                ]
            bound = f"{p} GFLOP/s, best batch ÷ batch 1: {best / max(single):.2f}×"
        add(
            f"vector env of 8 ≥ 3× eight single envs, {p}",
            f"{e['vector_over_singles']:.2f}×",
            e["vector_over_singles"] >= 3,
            bound,
        )
        bound = (
            f"FLOPs decoded ÷ latent: {batch[1]['flops'] / batch[1]['latent_flops']:.1f}×"
            if 1 in batch
            else "–"
        )
        add(
            f"latent-only ≥ 10× decoded (env), {p}",
            f"{e['latent_over_decoded']:.1f}×",
            e["latent_over_decoded"] >= 10,
            bound,
        )
    if batch:
        big = batch[max(batch)]
        for p, x in big.items():
            if isinstance(x, dict) and "of_peak" in x:
                add(
                    f"batched imagination ≥ 30 % of the {peak_key(p)} matmul peak (batch {big['batch']}, decoded, {p})",
                    f"{x['of_peak']:.0%}",
                    x["of_peak"] >= 0.3,
                )
    if "memory" in out:
        m = out["memory"]
        add(
            f"memory flat within 5 % (step {m['from_step']} → {m['marks'][-1]['step']})",
            f"{m['growth']:+.1%}",
            abs(m["growth"]) <= 0.05,
        )
    if "cem" in out:
        c, g = out["cem"], out["cem"]["goal"]
        runs = (
            (f"CEM ({c['samples']} × horizon {c['horizon']})", c),
            (f"goal-image CEM ({g['samples']} × horizon {g['horizon']}, decoded)", g),
        )
        for label, run in runs:
            for p in (p for p in run if p in PRECISIONS):  # the order they ran in
                x = run[p]["decision_s"]
                add(f"{label} ≤ 5 s per decision, {p}", f"{x:.2f} s", x <= 5)
    if lines:
        lines = (
            ["### goals", "| goal | measured | | what limits it (same run) |", "|---|---|---|---|"]
            + lines
            + [""]
        )
    return lines
