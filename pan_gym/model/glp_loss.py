"""The training objective of ``PanWorldModel`` (``PanWorldModel.loss``): flow matching through the decoder on one
Causal Swin-DPM window per sample, teacher-forcing the backbone over N action steps, plus the reward head.

Example:
    >>> import torch
    >>> from pan_gym.model.glp import PanWorldModel
    >>> model = PanWorldModel.from_preset("tiny")
    >>> batch = {"first_frame": torch.zeros(2, 64, 64, 3, dtype=torch.uint8),
    ...          "frames": torch.zeros(2, 3, 2, 64, 64, 3, dtype=torch.uint8), "actions": [["turn left"] * 3] * 2}
    >>> sorted(glp_loss(model, batch, torch.Generator().manual_seed(0)))
    ['flow', 'loss']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from pan_gym.diffusion.flow import add_noise, shift_sigma, velocity_target
from pan_gym.diffusion.swin_dpm import sample_window_noise
from pan_gym.model.decoder import ChunkCondition
from pan_gym.model.latent import latent_losses

if TYPE_CHECKING:
    from pan_gym.model.glp import PanWorldModel

# a latent pixel differing from its reference by more than this counts as changed by the action
CHANGED = 0.05


def glp_loss(
    model: PanWorldModel, batch: dict, generator: torch.Generator | None = None, render: bool = True
) -> dict[str, torch.Tensor]:
    """See ``PanWorldModel.loss``. ``render=False`` (latent supervision only) stops after the latent-matching terms:
    the decoder and reward head are not run (the ``dynamics`` training stage)."""
    first, frames, actions = (
        batch["first_frame"].to(model.device),
        batch["frames"].to(model.device),
        batch["actions"],
    )
    b, n, t = frames.shape[:3]
    if t != model.cfg.frames_per_chunk:
        raise ValueError(f"batch chunks have {t} frames, the model renders {model.cfg.frames_per_chunk}")
    dcfg, latent_mode = model.cfg.diffusion, model.cfg.backbone.supervision == "latent"
    # h on the observation before each action (and, in latent mode, after the last: the targets)
    seen = torch.cat([first[:, None], frames[:, :, -1]], dim=1)  # (B, N+1, H, W, 3)
    seen = seen if latent_mode else seen[:, :-1]
    tokens = model.encoder(seen.flatten(0, 1)).unflatten(0, (b, -1))  # (B, N(+1), N_vis, D)
    vis = tokens[:, :n]  # (B, N, N_vis, D); some are dropped below as after a latent-only step
    if model.training and model.cfg.backbone.frame_dropout > 0 and n > 1:
        drop = torch.rand((b, n, 1, 1), generator=generator).to(vis.device) < model.cfg.backbone.frame_dropout
        drop[:, 0] = False
        vis = torch.where(drop, model.backbone.no_frame.to(vis.dtype), vis)
    flat = [a for row in actions for a in row]
    text, mask = model.text(flat)  # (B·N, L, E), (B·N, L)
    text, mask = text.unflatten(0, (b, n)), mask.unflatten(0, (b, n))  # (B, N, L, E), (B, N, L)
    s_hat = model.backbone.forward_train(vis, text)  # (B, N, Q, D)
    out: dict[str, torch.Tensor] = {}
    if latent_mode:  # h, f learn from latent matching only; g and the reward head read a stop-gradient ŝ
        out.update(latent_losses(model.latent_head(s_hat), tokens[:, 1:], tokens))
        s_hat = s_hat.detach()
        if not render:
            return _finite(out, out["latent"] + model.cfg.backbone.latent_var_weight * out["variance"])
    elif not render:
        raise ValueError("render=False needs backbone.supervision=latent (nothing else would train h and f)")

    # one Swin-DPM window per sample: chunks k (A) and k+1 (B), conditioned on the frame before k
    with torch.no_grad():
        lat = model.latent.encode(frames.flatten(1, 2)).unflatten(2, (n, t))  # (B, C, N, T, h, w)
        lat = lat.permute(0, 2, 1, 3, 4, 5)  # (B, N, C, T, h, w)
        first_lat = model.latent.encode(first[:, None])  # (B, C, 1, h, w)
    lasts = torch.cat([first_lat[:, None], lat[:, :, :, -1:]], dim=1)  # (B, N+1, C, 1, h, w)
    ar = torch.arange(b, device=lat.device)
    k = torch.randint(0, max(n - 1, 1), (b,), generator=generator).to(lat.device)
    kb = (k + 1).clamp(max=n - 1)
    x_a, x_b, cond = lat[ar, k], lat[ar, kb], lasts[ar, k]  # (B, C, T, h, w) x2, (B, C, 1, h, w)
    window = dcfg.window  # False: no chunk B; every window is a lone chunk beside its conditioning frame
    force_first = torch.full((b,), True) if (n == 1 or not window) else None
    wn = sample_window_noise(
        b,
        dcfg.noise_offset,
        dcfg.first_chunk_prob,
        generator,
        dcfg.logit_normal,
        force_first,
        grid_steps=dcfg.sampler_steps,
        grid_prob=dcfg.grid_prob,
    )
    sig_a = shift_sigma(wn.u_a, dcfg.shift).to(lat.device)
    sig_b = shift_sigma(wn.u_b, dcfg.shift).to(lat.device)
    # (B, 1 + 2T), or (B, 1 + T) without a window
    sigma = torch.cat(
        [torch.full((b, 1), dcfg.cond_sigma, device=lat.device), sig_a[:, None].expand(b, t)]
        + ([sig_b[:, None].expand(b, t)] if window else []),
        dim=1,
    )
    x0 = torch.cat([cond, x_a, x_b] if window else [cond, x_a], dim=2)  # (B, C, 1 + 2T or 1 + T, h, w)
    eps = torch.randn(x0.shape, generator=generator).to(x0)
    x = add_noise(x0, eps, sigma)
    drop = (
        (torch.rand((b,), generator=generator) < dcfg.cfg_dropout).to(lat.device)
        if model.training
        else (torch.zeros(b, dtype=torch.bool, device=lat.device))
    )
    dtext, dmask = text, mask  # (B, N, L, E), (B, N, L): already unflattened above
    if model.decoder_text is not None:
        dtext, dmask = (x.unflatten(0, (b, n)) for x in model.decoder_text(flat))
    chunks = (k, kb) if window else (k,)
    dstate = model.decoder_state(s_hat)
    conds = [ChunkCondition(dtext[ar, i], dmask[ar, i], dstate[ar, i]).dropped(drop) for i in chunks]
    gated = model.cfg.decoder.copy_gate
    # v̂ = ε − x̂_0, or x̂_0 itself (``prediction``); with the copy gate also the drawn frame and the gate's logits
    pred = model.decoder(x, sigma, conds, source=cond, return_parts=gated)
    pred, drawn, gate_logit = pred if gated else (pred, None, None)
    target = x0 if dcfg.prediction == "x0" else velocity_target(x0, eps)
    before = [cond.expand(-1, -1, t, -1, -1)] + ([x_a[:, :, -1:].expand(-1, -1, t, -1, -1)] if window else [])
    changed = (x0[:, :, 1:] - torch.cat(before, dim=2)).abs().amax(1) > CHANGED  # (B, 2T or T, h, w)
    weight = 1.0 + dcfg.change_weight * changed.float()  # extra weight on what the action changes
    use_b = (~wn.first.to(lat.device)) & (kb > k)
    frame_on = torch.cat(
        [torch.ones(b, t, device=lat.device)] + ([use_b[:, None].float().expand(b, t)] if window else []),
        dim=1,
    )
    w = weight * frame_on[:, :, None, None]

    def flow_loss(pred: torch.Tensor) -> torch.Tensor:
        err = (pred - target).pow(2).mean(1)  # (B, F, h, w)
        return (err[:, 1:] * w).sum() / w.sum().clamp(min=1)

    out["flow"] = loss = flow_loss(pred)
    if gated:  # the drawn frame stays whole; the gate learns where the frame equals its source
        out["drawn"] = flow_loss(drawn)
        kept = ((x0[:, :, 1:] - cond).abs().amax(1) <= CHANGED).float()  # (B, F−1, h, w)
        bce = F.binary_cross_entropy_with_logits(gate_logit[:, 0, 1:].float(), kept, reduction="none")
        # changed pixels weighted as in the flow loss, so the gate is as wary of copying them as the flow loss is
        on = (1.0 + dcfg.change_weight * (1.0 - kept)) * frame_on[:, :, None, None]
        out["gate"] = (bce * on).sum() / on.sum().clamp(min=1)
        dc = model.cfg.decoder
        loss = loss + dc.copy_gate_drawn_loss * out["drawn"] + dc.copy_gate_loss * out["gate"]
    if latent_mode:
        loss = loss + out["latent"] + model.cfg.backbone.latent_var_weight * out["variance"]
    if "rewards" in batch and "mission" in batch:
        mtext, mmask = model.text(list(batch["mission"]))
        r, logit = model.reward_head(
            s_hat.flatten(0, 1), mtext.repeat_interleave(n, 0), mmask.repeat_interleave(n, 0)
        )
        rew = F.mse_loss(r, batch["rewards"].to(r).flatten())
        term = F.binary_cross_entropy_with_logits(logit, batch["terminated"].to(logit).flatten())
        out["reward"] = rew + term
        loss = loss + model.cfg.reward.loss_weight * out["reward"]
    return _finite(out, loss)


def _finite(out: dict[str, torch.Tensor], loss: torch.Tensor) -> dict[str, torch.Tensor]:
    """``out`` with ``loss`` added; FloatingPointError naming every term when the loss is not finite."""
    if not torch.isfinite(loss.detach()):
        raise FloatingPointError(f"non-finite loss: { {k: float(v.detach()) for k, v in out.items()} }")
    out["loss"] = loss
    return out
