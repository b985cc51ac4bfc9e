"""Where does an imagined outcome's error lie: on the pixels the action changes, or on those it leaves alone?

On the step-wise items of ``pan-gym eval`` (agent actions whose outcome differs from the start frame), each pixel is
"changed" when the true outcome differs from the start frame there (> 12 levels in some channel). Prints, per pixel
group, the squared error (0-255 scale, mean over channels) of
1. the imagined outcome (the sampler, as the eval runs it), and what copying the start frame would score;
2. one decoder call from the true outcome noised to σ, beside the conditioning frame (teacher-forced x0 error):
   how well the decoder renders what it is shown, apart from the sampler.
A decoder that copies what the action leaves alone scores near the conditioning noise on unchanged pixels
(σ 0.055: about 50) at every σ, and near 0 with ``decoder.copy_gate`` (which copies the clean frame; the mean gate
on each pixel group is printed then). Then lists the items picked wrong with the nearest distractor.

    PYTHONPATH=. python scripts/probe_unchanged_pixels.py default --world metaworld --n-states 16
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pan_gym.diffusion.flow import add_noise
from pan_gym.env.models import resolve_model
from pan_gym.eval import metrics as M
from pan_gym.eval.fidelity import imagine_final
from pan_gym.eval.simulators import ModelImaginer
from pan_gym.eval.starts import eval_seeds, start_states
from pan_gym.eval.stepwise import build_items
from pan_gym.worlds import make_world


def split_error(pred: np.ndarray, true: np.ndarray, changed: np.ndarray) -> str:
    """pred, true (N, H, W, 3) float; changed (N, H, W) bool -> 'unchanged U / changed C'."""
    err = ((pred - true) ** 2).mean(-1)  # (N, H, W)
    return f"unchanged {err[~changed].mean():6.0f} / changed {err[changed].mean():6.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="default, or a model directory")
    ap.add_argument("--world", default="metaworld")
    ap.add_argument("--n-states", type=int, default=16)
    ap.add_argument("--seed-offset", type=int, default=100000, help="100000: the validation block")
    args = ap.parse_args()
    torch.set_num_threads(1)
    world = make_world(args.world)
    starts = start_states(world, eval_seeds(args.n_states, args.seed_offset))
    items = [it for it in build_items(world, starts, progress=False) if it["kind"] == "agent"]
    model = resolve_model(args.model, default=args.world)
    actions = [it["actions"][0] for it in items]
    before = np.stack([it["start"].frame for it in items])  # (N, H, W, 3) uint8
    finals = np.stack([it["finals"] for it in items])  # (N, 4, H, W, 3) uint8, index 0 the truth
    true = finals[:, 0].astype(np.float32)
    changed = np.abs(true - before).max(-1) > 12  # (N, H, W)
    print(f"{len(items)} agent items; {changed.mean() * 100:.1f} % of pixels changed")
    imagined = imagine_final(
        ModelImaginer(model, 0), before, [it["start"].state for it in items], actions, 16
    )
    print(f"imagined outcome:     {split_error(imagined.astype(np.float32), true, changed)}")
    print(f"copy the start frame: {split_error(before.astype(np.float32), true, changed)}")

    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        state = model.start(torch.from_numpy(before))
        model.predict(state, actions)
        source = model.latent.encode(torch.from_numpy(before)[:, None])  # (N, C, 1, h, w)
        x0 = model.latent.encode(torch.from_numpy(finals[:, 0])[:, None])
        n, cs = x0.shape[0], model.cfg.diffusion.cond_sigma
        cond = add_noise(source, torch.randn(source.shape, generator=g), torch.full((n, 1), cs))
        raw = []  # the DiT's own output: its last channel is the copy gate's logit (decoder.copy_gate)
        model.decoder.dit.register_forward_hook(lambda module, inputs, out: raw.append(out[0]))
        for sigma in (1.0, 0.75, 0.5, 0.25):
            x = add_noise(x0, torch.randn(x0.shape, generator=g), torch.full((n, 1), sigma))
            sig = torch.tensor([[cs, sigma]]).expand(n, 2)
            out = model._velocity(torch.cat([cond, x], 2), sig, [state.pending], source=source)[:, :, 1:]
            x0_hat = x - sig[:, 1:, None, None, None] * out  # v = (x − x̂0) / σ
            shown = model.latent.decode(x0_hat)[:, 0].float().numpy()
            gate = ""
            if model.cfg.decoder.copy_gate:
                g_map = torch.sigmoid(raw[-1][:, -1, 1]).float().numpy()  # (N, H, W): pixel latents
                gate = f"; gate open {g_map[~changed].mean():.2f} / {g_map[changed].mean():.2f}"
            print(f"one call at σ {sigma:4}: {split_error(shown, true, changed)}{gate}")

    d = M.mse(imagined[:, None], finals)  # (N, 4), as the step-wise score picks
    for it, row in zip(items, d, strict=True):
        if row[0] >= row[1:].min():
            print(f"wrong: {it['actions'][0]!r}, nearest {it['actions'][1 + int(row[1:].argmin())]!r}")


if __name__ == "__main__":
    main()
