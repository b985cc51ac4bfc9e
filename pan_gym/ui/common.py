"""Shared pieces of the front ends: loading a model from a CLI spec, frame layout, videos, terminal previews.

Example:
    >>> import numpy as np
    >>> a = np.zeros((2, 64, 64, 3), np.uint8)
    >>> side_by_side(a, a, scale=2).shape        # (T, LABEL_H + H*scale, 2*W*scale + gap, 3): imagined | true
    (2, 146, 260, 3)
    >>> print(ansi_frame(np.zeros((4, 2, 3), np.uint8), color=False))
    ▀▀
    ▀▀
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from pan_gym.env.models import ModelSpecError
from pan_gym.worlds.base import chunk_indices

ModelOption = Annotated[
    str,
    typer.Option(
        help="default (the shipped model), a preset (tiny, small: random weights) or a model directory."
    ),
]
"""The ``--model`` option shared by the front ends."""

LABEL_H = 18  # pixels of caption above each panel in side_by_side


@dataclass
class LoadedModel:
    model: Any
    description: (
        str  # what to print: "shipped babyai-small (…/assets/models/babyai-small)", "preset 'tiny' …", a path
    )
    random_weights: bool  # a preset name: untrained, the imagined frames are noise


def load_model(spec: str, world: str = "babyai") -> LoadedModel:
    """A ``--model`` value through ``env.models.resolve_model``, with what to print about it. Raises
    ``ModelSpecError`` (also for a directory that cannot be loaded, naming the cause)."""
    from pan_gym.env.models import describe_model, is_preset, resolve_model

    try:
        model = resolve_model(spec, default=world)
    except ModelSpecError:
        raise
    except Exception as e:  # io.CheckpointError, OSError, safetensors errors
        raise ModelSpecError(f"could not load the model {spec!r}: {e}") from e
    return LoadedModel(model, describe_model(spec, world), is_preset(spec))


def resample(chunk: np.ndarray, t: int) -> np.ndarray:
    """A chunk (K, H, W, 3) as t frames, by the worlds' rule (evenly spaced, ending on the last)."""
    return chunk[chunk_indices(len(chunk), t)]


def upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscale of (..., H, W, 3) by an integer factor (crisp tiles)."""
    if scale == 1:
        return frames
    return frames.repeat(scale, axis=-3).repeat(scale, axis=-2)


def _caption(panel_w: int, text: str) -> np.ndarray:
    import cv2

    bar = np.full((LABEL_H, panel_w, 3), 255, np.uint8)
    cv2.putText(bar, text, (3, LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1, cv2.LINE_AA)
    return bar


def side_by_side(
    imagined: np.ndarray,
    true: np.ndarray | None,
    scale: int = 4,
    labels: tuple[str, str] = ("imagined", "true"),
    gap: int = 4,
) -> np.ndarray:
    """Frames (T, H, W, 3) of imagined and true video as (T, LABEL_H + H*scale, 2*W*scale + gap, 3) panels,
    each captioned. ``true`` None gives a grey right panel (e.g. an action the true world cannot execute)."""
    imagined = upscale(imagined, scale)
    true = np.full_like(imagined, 96) if true is None else upscale(resample(true, len(imagined)), scale)
    t, h, w, _ = imagined.shape
    sep = np.full((t, h + LABEL_H, gap, 3), 255, np.uint8)
    left = np.concatenate([np.broadcast_to(_caption(w, labels[0]), (t, LABEL_H, w, 3)), imagined], axis=1)
    right = np.concatenate([np.broadcast_to(_caption(w, labels[1]), (t, LABEL_H, w, 3)), true], axis=1)
    return np.ascontiguousarray(np.concatenate([left, sep, right], axis=2))


def write_video(frames: np.ndarray | list[np.ndarray], path: str | Path, fps: int = 6) -> Path:
    """Write frames (N, H, W, 3) uint8 as ``.mp4`` (H.264 via imageio-ffmpeg) or ``.gif`` (looping), by suffix."""
    import imageio.v2 as imageio

    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (N, H, W, 3) array, got shape {frames.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        imageio.mimsave(path, list(frames), duration=1000 / fps, loop=0)
    elif suffix == ".mp4":
        # even sizes for yuv420p; macro_block_size=1 keeps our exact size when it is already even
        h, w = frames.shape[1:3]
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
        imageio.mimsave(path, list(frames), fps=fps, codec="libx264", quality=8, macro_block_size=1)
    else:
        raise ValueError(f"unknown video format {path.suffix!r} for {path}: use .mp4 or .gif")
    return path


def png_bytes(frame: np.ndarray) -> bytes:
    """A frame (H, W, 3) uint8 as PNG bytes."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(frame[..., ::-1]))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def ansi_frame(frame: np.ndarray, color: bool = True) -> str:
    """A frame (H, W, 3) as terminal art: one '▀' per 2 vertical pixels, top pixel as the foreground colour and
    bottom as the background (24-bit ANSI). H must be even. ``color=False`` returns the bare characters."""
    h, w, _ = frame.shape
    if h % 2:
        raise ValueError(f"ansi_frame needs an even height, got {h}")
    lines = []
    for y in range(0, h, 2):
        if not color:
            lines.append("▀" * w)
            continue
        cells = []
        for x in range(w):
            (r1, g1, b1), (r2, g2, b2) = frame[y, x], frame[y + 1, x]
            cells.append(f"\x1b[38;2;{r1};{g1};{b1}m\x1b[48;2;{r2};{g2};{b2}m▀")
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


def downscale(frame: np.ndarray, width: int) -> np.ndarray:
    """Area-downscale a frame (H, W, 3) to ``width`` columns (keeps the aspect; height rounded to even)."""
    import cv2

    h, w, _ = frame.shape
    if width >= w:
        return frame
    height = max(2, round(h * width / w / 2) * 2)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def ansi_row(frames: list[np.ndarray], width: int = 32, color: bool = True, gap: int = 2) -> str:
    """Several frames next to each other as one block of terminal art, each ``width`` characters wide."""
    blocks = [ansi_frame(downscale(f, width), color).split("\n") for f in frames]
    rows = max(len(b) for b in blocks)
    return "\n".join(
        (" " * gap).join(b[i] if i < len(b) else " " * width for b in blocks) for i in range(rows)
    )


def display_available() -> bool:
    """Whether a window can open: an X11/Wayland display on Linux, always on macOS and Windows."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def frame_figures(imagined: np.ndarray, true: np.ndarray, tile: Any = 8) -> dict[str, float]:
    """How close an imagined frame is to the true one: PSNR (dB) and, on tiled worlds, the share of tiles
    (cells) that match exactly and whether the whole frame matches."""
    from pan_gym.eval.metrics import grid_exact, psnr, tile_accuracy

    out = {"psnr": float(psnr(imagined[None], true[None])[0])}
    if tile:
        out["cells"] = float(tile_accuracy(imagined[None], true[None], tile)[0])
        out["exact"] = float(grid_exact(imagined[None], true[None], tile)[0])
    return out
