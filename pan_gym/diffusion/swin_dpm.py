"""Causal Swin-DPM: sliding-window denoising over chunks of video, one chunk per action.

The window holds one conditioning latent frame and two chunks: the earlier chunk A at noise level σ_A, the later
chunk B at σ_A + ½ (in unshifted time u; the offset is a config field, ablated together with no window
at all, last-frame chaining). Attention is chunk-causal: B sees A and the conditioning frame, A never
sees B, and attention is full within a chunk. The conditioning frame is the last latent frame of the previous chunk,
noised to σ = 0.055, with no loss on it. A video's first chunk has no earlier chunk: it is denoised over the full
range [1, 0] (training samples its σ over [0, 1]).

Because A never attends to B, finishing A does not need B: a chunk can be finished before the next action arrives.
``SwinDenoiser`` uses exactly that to return each action's chunk from ``step``: phase 1 brings the new chunk from
u = 1 to ½ in slot B beside the previous chunk's recorded phase-2 states in slot A (the same inputs A had when it was
finished, so what B sees is what PAN's window shows it); phase 2 slides the window and finishes it alone.

Example:
    >>> chunk_causal_mask(num_chunks=2, frames_per_chunk=1, tokens_per_frame=1).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from pan_gym.batched import Batched
from pan_gym.diffusion.flow import add_noise, euler_step, sample_u, shift_sigma


def frame_chunk_ids(num_chunks: int, frames_per_chunk: int, cond_frames: int = 1) -> torch.Tensor:
    """Chunk index per latent frame: 0 for the conditioning frames, then 1..num_chunks. Shape (F,)."""
    return torch.cat(
        [
            torch.zeros(cond_frames, dtype=torch.long),
            torch.arange(1, num_chunks + 1).repeat_interleave(frames_per_chunk),
        ]
    )


def chunk_causal_mask(
    num_chunks: int, frames_per_chunk: int, tokens_per_frame: int, cond_frames: int = 1
) -> torch.Tensor:
    """Bool (L, L) self-attention mask, True = may attend: a token sees its own chunk and every earlier chunk
    (the conditioning frames count as chunk 0); L = (cond_frames + num_chunks·frames_per_chunk)·tokens_per_frame."""
    # (L,)
    ids = frame_chunk_ids(num_chunks, frames_per_chunk, cond_frames).repeat_interleave(tokens_per_frame)
    return ids[None, :] <= ids[:, None]


@dataclass
class WindowNoise:
    """Per-sample noise levels for one training window: u_A, u_B (unshifted) and which samples are first chunks."""

    u_a: torch.Tensor  # (B,)
    u_b: torch.Tensor  # (B,)
    first: torch.Tensor  # (B,) bool: a video's first chunk (σ_A over [0, 1], B is pure noise without loss)


def sample_window_noise(
    batch: int,
    offset: float = 0.5,
    first_chunk_prob: float = 0.25,
    generator: torch.Generator | None = None,
    logit_normal: bool = True,
    first: torch.Tensor | None = None,
    grid_steps: int = 0,
    grid_prob: float = 0.0,
) -> WindowNoise:
    """σ_A ∈ [0, 1−offset], σ_B = σ_A + offset (capped at 1); first chunks sample σ_A over [0, 1] (B at u = 1).
    ``first`` forces which samples are first chunks (e.g. when no earlier chunk exists).

    With ``grid_prob`` > 0, that share of samples takes u_A from the ``grid_steps``-step sampler's own grid (the
    exact noise levels ``SwinDenoiser`` evaluates, for a step u_j = 1 − j/K: u_A = u_j − offset when the chunk is in
    slot B (u_j > offset), else u_A = u_j, the chunk finishing alone; first chunks u ∈ {1 − j/K}); few-step
    samplers are then trained where they are used (offset ½, K = 2: (u_A, u_B) = (½, 1), first chunks at 1, ½).
    """
    u = sample_u((batch,), generator, logit_normal)
    if first is None:
        first = torch.rand((batch,), generator=generator) < first_chunk_prob
    u_a = torch.where(first, u, u * (1 - offset))
    if grid_prob > 0 and grid_steps > 0:
        on_grid = torch.rand((batch,), generator=generator) < grid_prob
        j = torch.randint(0, grid_steps, (batch,), generator=generator)
        grid_first = 1.0 - j / grid_steps  # the whole schedule
        # slot B / alone
        grid_later = torch.where(grid_first > offset + 1e-6, grid_first - offset, grid_first)
        u_a = torch.where(on_grid, torch.where(first, grid_first, grid_later), u_a)
    u_b = torch.where(first, torch.ones_like(u), (u_a + offset).clamp(max=1.0))
    return WindowNoise(u_a, u_b, first)


@dataclass
class SwinState(Batched):
    """The decoder's window between actions; its rows select and concatenate (``Batched``: ``prev_condition`` and
    the ``prev_prefix`` entries are ``Batched`` too)."""

    last_frame: torch.Tensor  # (B, C, 1, h, w): the clean latent frame the next chunk continues from
    prev_cond: torch.Tensor | None = None  # (B, C, 1, h, w): the previous chunk's noised conditioning frame
    # the previous chunk's states the next chunk's slot-B steps sit beside (``SwinDenoiser.beside_levels``)
    prev_traj: list[torch.Tensor] = field(default_factory=list)
    prev_condition: Any = None  # the previous chunk's conditioning (action text, state), opaque here
    # per level u: what the velocity recorded of [conditioning frame, previous chunk at u] (opaque here)
    prev_prefix: dict[float, Any] = field(default_factory=dict)
    # (chunk noise (B, C, T, h, w), conditioning noise (B, C, 1, h, w)) every later chunk of the rollout reuses
    # (``diffusion.shared_noise``); None: each chunk draws its own
    noise: tuple[torch.Tensor, torch.Tensor] | None = None
    prev_source: torch.Tensor | None = None  # (B, C, 1, h, w): ``prev_cond`` before its noise

    def tensors(self) -> Iterator[torch.Tensor]:
        yield self.last_frame
        yield from (t for t in (self.prev_cond, self.prev_source) if t is not None)
        yield from self.prev_traj
        for u in sorted(self.prev_prefix):
            yield from self.prev_prefix[u].tensors()
        if self.prev_condition is not None:
            yield from self.prev_condition.tensors()
        yield from self.noise or ()

    def layout(self) -> tuple:
        present = tuple(
            x is None for x in (self.prev_cond, self.prev_source, self.prev_condition, self.noise)
        )
        return present, len(self.prev_traj), tuple(sorted(self.prev_prefix))


VelocityFn = Callable[..., Any]
"""(x (B, C, F, h, w), σ (B, F), per-chunk conditions, source=) -> v (B, C, F, h, w); F = 1 + T·len(conditions);
``source`` (B, C, 1, h, w) is the window's conditioning frame before its noise.
With ``reuse_prefix`` the denoiser also calls it with ``record=True`` (-> (v, prefix): what the window's frames
contribute to later ones) and with ``prefix=`` (x is then the new chunk alone, placed after the prefix's frames)."""


class SwinDenoiser:
    """Runs Causal Swin-DPM inference for one chunk per call.

    ``steps`` Euler steps per chunk (even), at u_j = 1 − j/steps. The new chunk takes its steps at u_j > ``offset``
    in slot B, beside the previous chunk at u_j − offset (read off that chunk's Euler path: exact on the grid,
    else linear in σ, which is what an Euler step is); the previous chunk is clean once the new one reaches
    ``offset`` and is emitted, and the new chunk finishes its remaining steps alone beside its conditioning frame.
    With offset ½ that is PAN's window (the first half of the steps in slot B, the second half in slot A); with
    offset 1 no step has a partner (the chunks never overlap in noise level). A subclass whose ``beside_levels``
    is empty runs every step alone (last-frame chaining).
    """

    def __init__(
        self,
        steps: int,
        shift: float = 1.0,
        cond_sigma: float = 0.055,
        offset: float = 0.5,
    ):
        if steps < 2 or steps % 2:
            raise ValueError(f"Swin-DPM needs an even number of sampler steps >= 2, got {steps}")
        if not 0.0 < offset <= 1.0:
            raise ValueError(f"the Swin-DPM noise offset must be in (0, 1], got {offset}")
        self.steps, self.shift, self.cond_sigma, self.offset = steps, shift, cond_sigma, offset
        self.u = torch.linspace(1.0, 0.0, steps + 1)  # unshifted time, 1 -> 0

    def _sigma(self, u: float, batch: int, frames: int) -> torch.Tensor:
        return shift_sigma(torch.full((batch, frames), float(u)), self.shift)

    def _snap(self, u: float) -> float:
        """``u`` itself, or the grid's own value when ``u`` is a grid level (bit-equal to the stored states)."""
        j = round((1.0 - u) * self.steps)
        return float(self.u[j]) if abs(float(self.u[j]) - u) < 1e-6 else u

    def beside_levels(self) -> list[float]:
        """u of the previous chunk beside each of the new chunk's slot-B steps.

        Example:
            >>> SwinDenoiser(4).beside_levels(), SwinDenoiser(2, offset=0.25).beside_levels()
            ([0.5, 0.25], [0.75, 0.25])
        """
        return [self._snap(float(u) - self.offset) for u in self.u[:-1] if float(u) - self.offset > 1e-6]

    def _on_path(self, path: list[torch.Tensor], u: float) -> torch.Tensor:
        """The state at level ``u`` on a chunk's Euler path (``path[j]`` at ``self.u[j]``)."""
        j = min(int((1.0 - u) * self.steps + 1e-6), self.steps - 1)
        if abs(float(self.u[j]) - u) < 1e-6:
            return path[j]
        s0, s1, s = (
            float(shift_sigma(torch.tensor(float(v)), self.shift)) for v in (self.u[j], self.u[j + 1], u)
        )
        return path[j] + (s - s0) / (s1 - s0) * (path[j + 1] - path[j])

    def denoise(
        self,
        velocity: VelocityFn,
        state: SwinState,
        condition: Any,
        noise: torch.Tensor,
        cond_noise: torch.Tensor,
        reuse_prefix: bool = False,
    ) -> tuple[torch.Tensor, SwinState]:
        """Denoise one chunk from ``noise`` (B, C, T, h, w); returns the clean chunk and the slid window.

        ``reuse_prefix``: a slot-B step whose partner state is exactly one the previous chunk finished from (on the
        sampler's grid) runs the new chunk alone against what ``velocity`` recorded then, instead of the whole
        window: the same result, as the earlier chunk never attends to B."""
        b, _, t = noise.shape[:3]
        cond = add_noise(state.last_frame, cond_noise, torch.full((b, 1), self.cond_sigma))  # (B, C, 1, h, w)
        beside = state.prev_traj  # the previous chunk's states, one per slot-B step (beside_levels)
        wanted = set(self.beside_levels()) if reuse_prefix else set()  # levels the next chunk will sit beside
        x, path, recorded = noise, [noise], {}
        for j in range(self.steps):
            s, s_next = self._sigma(self.u[j], b, t), self._sigma(self.u[j + 1], b, t)
            if j < len(beside):  # slot B, beside the previous chunk `offset` behind (it never sees B)
                u_prev = self._snap(float(self.u[j]) - self.offset)
                prefix = state.prev_prefix.get(u_prev) if reuse_prefix else None
                if prefix is not None:
                    v = velocity(x, s, [condition], prefix=prefix, source=state.prev_source)
                else:
                    window = torch.cat([state.prev_cond, beside[j], x], dim=2)  # (B, C, 1 + 2T, h, w)
                    sig = torch.cat([torch.full((b, 1), self.cond_sigma), self._sigma(u_prev, b, t), s], 1)
                    conds = [state.prev_condition, condition]
                    v = velocity(window, sig, conds, source=state.prev_source)[:, :, 1 + t :]
            else:  # alone beside its conditioning frame: a first chunk, the previous one is done, or no window
                window = torch.cat([cond, x], dim=2)  # (B, C, 1 + T, h, w)
                sig = torch.cat([torch.full((b, 1), self.cond_sigma), s], 1)
                u = float(self.u[j])
                if u in wanted:
                    v, recorded[u] = velocity(window, sig, [condition], record=True, source=state.last_frame)
                    v = v[:, :, 1:]
                else:
                    v = velocity(window, sig, [condition], source=state.last_frame)[:, :, 1:]
            x = euler_step(x, v, s, s_next)
            path.append(x)
        traj = [self._on_path(path, u) for u in self.beside_levels()]
        return x, SwinState(x[:, :, -1:], cond, traj, condition, recorded, prev_source=state.last_frame)
