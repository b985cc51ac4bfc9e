"""The training objective of ``PanWorldModel`` (``PanWorldModel.loss``): flow matching through the decoder on one
Causal Swin-DPM window per sample, teacher-forcing the backbone over N action steps, plus the reward head.

Composed in ``glp_loss`` from its parts: the model's ``training_states`` (h and f teacher-forced,
``predict_states``), ``decoder_losses`` (one noised window per sample from the model's ``training_window``,
``sample_window``, scored by ``flow_loss`` and the copy gate's ``gate_loss``) and ``reward_loss`` (also the
``reward`` stage's whole objective, ``reward_stage_loss``). An ablation (``model.registry``) overrides those hooks.

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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from pan_gym.diffusion.flow import add_noise, shift_sigma, velocity_target
from pan_gym.diffusion.swin_dpm import sample_window_noise
from pan_gym.model.decoder import ChunkCondition

if TYPE_CHECKING:
    from pan_gym.model.glp import PanWorldModel

# a latent pixel differing from its reference by more than this counts as changed by the action
CHANGED = 0.05


@dataclass
class TrainingWindow:
    """One Causal Swin-DPM window per sample, noised: chunk k (A) and k + 1 (B) beside the frame before k
    (``first_chunk()``: chunk A alone). F = 1 + 2T (or 1 + T) latent frames."""

    x: torch.Tensor  # (B, C, F, h, w) the noised window: conditioning frame, chunk A[, chunk B]
    sigma: torch.Tensor  # (B, F) per-frame noise levels
    x0: torch.Tensor  # (B, C, F, h, w) the clean window
    eps: torch.Tensor  # (B, C, F, h, w) the noise drawn
    source: torch.Tensor  # (B, C, 1, h, w) the clean conditioning frame (what the copy gate copies)
    chunks: tuple[torch.Tensor, ...]  # the action index (B,) of each chunk
    frame_on: torch.Tensor  # (B, F − 1): 1 where a frame is scored (chunk B of a first chunk is not)
    weight: torch.Tensor  # (B, F − 1, h, w): frame_on × (1 + change_weight on what the action changes)

    def first_chunk(self) -> TrainingWindow:
        """The window without chunk B: the conditioning frame and chunk A, F = 1 + T."""
        t = self.frame_on.shape[1] // len(self.chunks)
        x, x0, eps = (v[:, :, : 1 + t] for v in (self.x, self.x0, self.eps))
        sigma, on, weight = self.sigma[:, : 1 + t], self.frame_on[:, :t], self.weight[:, :t]
        return TrainingWindow(x, sigma, x0, eps, self.source, self.chunks[:1], on, weight)


def sample_window(model: PanWorldModel, first, frames, generator, first_only: bool = False) -> TrainingWindow:
    """Encode the chunks and draw each sample's window, its noise levels and its noise (``sample_window_noise``).
    ``first_only``: every window is a video's first chunk (σ over the full [0, 1], no loss on chunk B)."""
    b, n, t = frames.shape[:3]
    dcfg = model.cfg.diffusion
    with torch.no_grad():
        lat = model.latent.encode(frames.flatten(1, 2)).unflatten(2, (n, t))  # (B, C, N, T, h, w)
        lat = lat.permute(0, 2, 1, 3, 4, 5)  # (B, N, C, T, h, w)
        first_lat = model.latent.encode(first[:, None])  # (B, C, 1, h, w)
    lasts = torch.cat([first_lat[:, None], lat[:, :, :, -1:]], dim=1)  # (B, N+1, C, 1, h, w)
    ar = torch.arange(b, device=lat.device)
    k = torch.randint(0, max(n - 1, 1), (b,), generator=generator).to(lat.device)
    kb = (k + 1).clamp(max=n - 1)
    x_a, x_b, cond = lat[ar, k], lat[ar, kb], lasts[ar, k]  # (B, C, T, h, w) x2, (B, C, 1, h, w)
    force_first = torch.full((b,), True) if (n == 1 or first_only) else None
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
    sigma = torch.cat(
        [
            torch.full((b, 1), dcfg.cond_sigma, device=lat.device),
            sig_a[:, None].expand(b, t),
            sig_b[:, None].expand(b, t),
        ],
        dim=1,
    )  # (B, F)
    x0 = torch.cat([cond, x_a, x_b], dim=2)  # (B, C, F, h, w)
    eps = torch.randn(x0.shape, generator=generator).to(x0)
    before = torch.cat([cond.expand(-1, -1, t, -1, -1), x_a[:, :, -1:].expand(-1, -1, t, -1, -1)], dim=2)
    changed = (x0[:, :, 1:] - before).abs().amax(1) > CHANGED  # (B, F − 1, h, w)
    use_b = (~wn.first.to(lat.device)) & (kb > k)
    frame_on = torch.cat([torch.ones(b, t, device=lat.device), use_b[:, None].float().expand(b, t)], dim=1)
    weight = (1.0 + dcfg.change_weight * changed.float()) * frame_on[:, :, None, None]  # frame_on (B, F − 1)
    return TrainingWindow(add_noise(x0, eps, sigma), sigma, x0, eps, cond, (k, kb), frame_on, weight)


def flow_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The weighted flow-matching error of the window's frames after its conditioning frame."""
    err = (pred - target).pow(2).mean(1)  # (B, F, h, w)
    return (err[:, 1:] * weight).sum() / weight.sum().clamp(min=1)


def gate_loss(gate_logit: torch.Tensor, win: TrainingWindow, change_weight: float) -> torch.Tensor:
    """The copy gate's cross-entropy against where the frame equals its source; changed pixels weighted as in the
    flow loss, so the gate is as wary of copying them as the flow loss is."""
    kept = ((win.x0[:, :, 1:] - win.source).abs().amax(1) <= CHANGED).float()  # (B, F − 1, h, w)
    bce = F.binary_cross_entropy_with_logits(gate_logit[:, 0, 1:].float(), kept, reduction="none")
    on = (1.0 + change_weight * (1.0 - kept)) * win.frame_on[:, :, None, None]
    return (bce * on).sum() / on.sum().clamp(min=1)


def reward_loss(
    model: PanWorldModel, s_hat: torch.Tensor, batch: dict, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The reward head on every predicted state ŝ (B, N, Q, D) and the mission: reward MSE + termination BCE.

    In training, a share ``reward.mission_swap`` of the windows is scored against another window's mission (one
    that differs), with reward 0 and no termination: the same state is a success for one mission only, so the
    head must read the mission, not just the look of a finished task."""
    b, n = s_hat.shape[:2]
    missions = list(batch["mission"])
    rewards, done = batch["rewards"].to(s_hat.device).float(), batch["terminated"].to(s_hat.device).float()
    swap = model.cfg.reward.mission_swap
    if model.training and swap > 0 and b > 1:
        other = torch.randperm(b, generator=generator).tolist()
        pick = (torch.rand(b, generator=generator) < swap).tolist()
        moved = [p and missions[o] != m for p, o, m in zip(pick, other, missions, strict=True)]
        missions = [missions[o] if mv else m for o, mv, m in zip(other, moved, missions, strict=True)]
        keep = 1.0 - torch.tensor(moved, dtype=torch.float32, device=s_hat.device)[:, None]  # (B, 1)
        rewards, done = rewards * keep, done * keep
    mtext, mmask = model.text(missions)
    r, logit = model.reward_head(
        s_hat.flatten(0, 1), mtext.repeat_interleave(n, 0), mmask.repeat_interleave(n, 0)
    )
    rew = F.mse_loss(r, rewards.to(r).flatten())
    return rew + F.binary_cross_entropy_with_logits(logit, done.to(logit).flatten())


def reward_stage_loss(model: PanWorldModel, batch: dict, generator: torch.Generator | None = None) -> dict:
    """The reward head alone on the backbone's teacher-forced ŝ (the ``reward`` training stage): the decoder is not
    run, so a step costs h, f and the head only."""
    if "rewards" not in batch or "mission" not in batch:
        raise ValueError("the reward stage needs `rewards`, `terminated` and `mission` in the data")
    first, frames, _, text, _ = batch_inputs(model, batch)
    with torch.no_grad():
        s_hat, _ = predict_states(model, first, frames, text, generator)
    out = {"reward": reward_loss(model, s_hat, batch, generator)}
    return finite(out, out["reward"])


def batch_inputs(model: PanWorldModel, batch: dict):
    """A batch on the model's device: first frame (B, H, W, 3), chunks (B, N, T, H, W, 3), the N·B action texts
    flattened row by row, and their text tokens (B, N, L, E) with mask (B, N, L)."""
    first, frames = batch["first_frame"].to(model.device), batch["frames"].to(model.device)
    b, n = frames.shape[:2]
    flat = [a for row in batch["actions"] for a in row]
    text, mask = (x.unflatten(0, (b, n)) for x in model.text(flat))
    return first, frames, flat, text, mask


def predict_states(model: PanWorldModel, first, frames, text, generator, targets: bool = False):
    """h on the observation before each action, f teacher-forced over the actions: ŝ (B, N, Q, D), and h's tokens
    of every observation (B, N + 1, N_vis, D: the latent-matching targets) when ``targets``, else None."""
    b, n = frames.shape[:2]
    seen = torch.cat([first[:, None], frames[:, :, -1]], dim=1)  # (B, N+1, H, W, 3)
    seen = seen if targets else seen[:, :-1]
    tokens = model.encoder(seen.flatten(0, 1)).unflatten(0, (b, -1))  # (B, N(+1), N_vis, D)
    vis = tokens[:, :n]  # (B, N, N_vis, D); some are dropped below as after a latent-only step
    if model.training and model.cfg.backbone.frame_dropout > 0 and n > 1:
        drop = torch.rand((b, n, 1, 1), generator=generator).to(vis.device) < model.cfg.backbone.frame_dropout
        drop[:, 0] = False
        vis = torch.where(drop, model.backbone.no_frame.to(vis.dtype), vis)
    return model.backbone.forward_train(vis, text), (tokens if targets else None)


def decoder_losses(model: PanWorldModel, first, frames, actions, text, mask, s_hat, generator) -> dict:
    """The decoder's flow loss on one window per sample, and with the copy gate its ``drawn`` and ``gate`` terms."""
    b, n = frames.shape[:2]
    dcfg = model.cfg.diffusion
    win = model.training_window(first, frames, generator)
    drop = (
        (torch.rand((b,), generator=generator) < dcfg.cfg_dropout).to(s_hat.device)
        if model.training
        else torch.zeros(b, dtype=torch.bool, device=s_hat.device)
    )
    text, mask = (
        x.unflatten(0, (b, n)) for x in model.decoder_text_of(actions, text.flatten(0, 1), mask.flatten(0, 1))
    )
    ar, state = torch.arange(b, device=s_hat.device), model.decoder_state(s_hat)
    conds = [ChunkCondition(text[ar, i], mask[ar, i], state[ar, i]).dropped(drop) for i in win.chunks]
    pred = model.decoder(win.x, win.sigma, conds, source=win.source)
    target = win.x0 if dcfg.prediction == "x0" else velocity_target(win.x0, win.eps)
    out = {"flow": flow_loss(pred.sample, target, win.weight)}
    if pred.gate_logit is not None:
        # the drawn frame stays whole; the gate learns where the frame is its source
        out["drawn"] = flow_loss(pred.drawn, target, win.weight)
        out["gate"] = gate_loss(pred.gate_logit, win, dcfg.change_weight)
    return out


def glp_loss(
    model: PanWorldModel, batch: dict, generator: torch.Generator | None = None, zero_state: bool = False
) -> dict[str, torch.Tensor]:
    """See ``PanWorldModel.loss``. ``zero_state``: h and f are not run, ŝ = 0 (the ``decoder`` stage). Every term's
    weight is applied here."""
    first, frames, flat, text, mask = batch_inputs(model, batch)
    b, n, t = frames.shape[:3]
    if t != model.cfg.frames_per_chunk:
        raise ValueError(f"batch chunks have {t} frames, the model renders {model.cfg.frames_per_chunk}")
    if zero_state:
        s_hat = model.backbone.queries.new_zeros(b, n, *model.backbone.queries.shape)  # (B, N, Q, D)
        out, loss = {}, torch.zeros((), device=model.device)
    else:
        s_hat, out, loss = model.training_states(first, frames, text, generator)
    out.update(decoder_losses(model, first, frames, flat, text, mask, s_hat, generator))
    dc = model.cfg.decoder
    loss = loss + out["flow"]
    if "gate" in out:
        loss = loss + dc.copy_gate_drawn_loss * out["drawn"] + dc.copy_gate_loss * out["gate"]
    if "rewards" in batch and "mission" in batch:
        out["reward"] = reward_loss(model, s_hat, batch, generator)
        loss = loss + model.cfg.reward.loss_weight * out["reward"]
    return finite(out, loss)


def finite(out: dict[str, torch.Tensor], loss: torch.Tensor) -> dict[str, torch.Tensor]:
    """``out`` with ``loss`` added; FloatingPointError naming every term when the loss is not finite."""
    if not torch.isfinite(loss.detach()):
        raise FloatingPointError(f"non-finite loss: { {k: float(v.detach()) for k, v in out.items()} }")
    out["loss"] = loss
    return out
