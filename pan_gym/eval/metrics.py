"""Frame and video metrics: pure functions on uint8 frames (numpy), batched over leading axes.

Every frame function takes ``pred`` and ``true`` of shape (..., H, W, 3) uint8 and returns a float array of shape
(...,) (a numpy scalar for single frames):

- ``psnr``: 10·log10(255² / MSE), capped at ``PSNR_CAP`` = 100 dB (identical frames; JSON has no inf).
- ``ssim``: Wang et al. (2004) SSIM with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255,
  per channel then averaged, borders (5 px) cropped as skimage does with ``gaussian_weights=True``.
- ``tile_accuracy``: the fraction of ``tile``×``tile`` cells that match (BabyAI: 8 px tiles, one per grid cell, so
  this is "the fraction of grid cells rendered right"); ``grid_exact``: all of them. ``tile`` is a size in px (a
  cell matches when all its pixels agree within ``tol``) or a ``TileBook`` of the world's tiles (a cell matches when
  it clearly shows the true cell's tile: how a person reads a grid, robust to a few grey levels of render noise).

Videos: ``smoothness`` is PAN's transition smoothness, ``consistency`` the drift of a per-step score, ``resample``
picks evenly spaced frames of a chunk so chunks of different length can be joined into comparable videos.

Example:
    >>> a = np.zeros((64, 64, 3), np.uint8); b = a.copy(); b[:8, :8] = 255
    >>> float(psnr(a, a)), float(ssim(a, a)), float(tile_accuracy(a, b)), bool(grid_exact(a, b))
    (100.0, 1.0, 0.984375, False)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pan_gym.worlds.base import chunk_indices

PSNR_CAP = 100.0


def _f64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (..., H, W, 3), got {x.dtype} {x.shape}")
    return x.astype(np.float64)


def mse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Mean squared error over (H, W, 3) on the 0–255 scale: (...,)."""
    return ((_f64(pred) - _f64(true)) ** 2).mean(axis=(-3, -2, -1))


def psnr(pred: np.ndarray, true: np.ndarray, cap: float = PSNR_CAP) -> np.ndarray:
    """Peak signal-to-noise ratio in dB, (...,), capped at ``cap`` (identical frames give ``cap``)."""
    err = mse(pred, true)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(255.0**2 / err)
    return np.minimum(db, cap)


def _ssim_one(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two float64 (H, W, 3) frames, averaged over channels."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))  # (H, W, 3)
    pad = 5
    return float(s[pad:-pad, pad:-pad].mean())


def ssim(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Gaussian-window SSIM in [-1, 1] (1 for identical frames), (...,)."""
    p, t = _f64(pred), _f64(true)
    if p.shape != t.shape:
        raise ValueError(f"shape mismatch {p.shape} vs {t.shape}")
    lead = p.shape[:-3]
    flat_p, flat_t = p.reshape(-1, *p.shape[-3:]), t.reshape(-1, *t.shape[-3:])
    out = np.array([_ssim_one(a, b) for a, b in zip(flat_p, flat_t, strict=True)])
    return out.reshape(lead)


@dataclass(frozen=True)
class TileBook:
    """The tiles a world's cells can show, to read frames cell by cell.

    A cell reads as tile k when k is its nearest tile (MSE) and clearly so: its MSE to k is below ``margin`` × its
    MSE to the second-nearest tile (0.25: a cell must be at least two thirds of the way to one tile; a half-and-half
    blend of two tiles reads as no tile). Cells that read as no tile are -1 and never match.

    Example:
        >>> book = TileBook(np.stack([np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 200, np.uint8)]))
        >>> f = np.zeros((16, 16, 3), np.uint8); f[:8, :8] = 190; f[8:, 8:] = 100
        >>> book.read(f).tolist()
        [[1, 0], [0, -1]]
    """

    tiles: np.ndarray  # (K, t, t, 3) uint8
    margin: float = 0.25

    @property
    def size(self) -> int:
        return int(self.tiles.shape[1])

    def read(self, frames: np.ndarray) -> np.ndarray:
        """The tile index each cell shows: (..., H/t, W/t) int64, -1 where no tile is clearly shown."""
        cells = _cells(frames, self.size)  # (..., gh, gw, t·t·3) float64
        book = self.tiles.reshape(len(self.tiles), -1).astype(np.float64)  # (K, t·t·3)
        d = (cells**2).sum(-1, keepdims=True) - 2 * cells @ book.T + (book**2).sum(-1)  # (..., gh, gw, K)
        two = np.partition(d, 1, axis=-1)[..., :2]  # nearest, second nearest
        ids = d.argmin(-1)
        return np.where(two[..., 0] < self.margin * two[..., 1], ids, -1)


def _cells(frames: np.ndarray, tile: int) -> np.ndarray:
    """(..., H, W, 3) uint8 -> (..., H/tile, W/tile, tile·tile·3) float64, cell by cell."""
    f = _f64(frames)
    h, w = f.shape[-3:-1]
    if h % tile or w % tile:
        raise ValueError(f"frame {h}×{w} is not a whole number of {tile}-px tiles")
    f = f.reshape(*f.shape[:-3], h // tile, tile, w // tile, tile, 3)
    return np.moveaxis(f, -4, -3).reshape(*f.shape[:-5], h // tile, w // tile, tile * tile * 3)


def tile_match(pred: np.ndarray, true: np.ndarray, tile: int | TileBook = 8, tol: int = 0) -> np.ndarray:
    """Per-cell match (..., H/t, W/t) bool: the cell shows the true cell's tile (``TileBook``), or every pixel is
    within ``tol`` of the true one on every channel (``tile`` in px)."""
    if isinstance(tile, TileBook):
        want = tile.read(true)
        return (tile.read(pred) == want) & (want >= 0)
    return np.abs(_cells(pred, tile) - _cells(true, tile)).max(-1) <= tol


def tile_accuracy(pred: np.ndarray, true: np.ndarray, tile: int | TileBook = 8, tol: int = 0) -> np.ndarray:
    """Fraction of cells that match (see ``tile_match``), (...,)."""
    return tile_match(pred, true, tile, tol).mean(axis=(-2, -1))


def grid_exact(pred: np.ndarray, true: np.ndarray, tile: int | TileBook = 8, tol: int = 0) -> np.ndarray:
    """True where every cell matches, (...,) bool."""
    return tile_match(pred, true, tile, tol).all(axis=(-2, -1))


def changed(
    before: np.ndarray, after: np.ndarray, tile: int | TileBook | None = 8, mse_eps: float = 1.0
) -> np.ndarray:
    """Did the frame change? (...,) bool: any tile differs (tiled worlds), else MSE > ``mse_eps`` (0–255 scale)."""
    if tile is not None:
        return ~grid_exact(before, after, tile)
    return mse(before, after) > mse_eps


def outcome_shown(
    pred: np.ndarray,
    true: np.ndarray,
    before: np.ndarray,
    tile: int | TileBook | None = 8,
    psnr_threshold: float = 25.0,
) -> np.ndarray:
    """Does the imagined final frame show the action's true outcome? (...,) bool.

    Tiled worlds: grid-exact. Others: closer (MSE) to the true final frame than to the pre-action frame, and
    PSNR ≥ ``psnr_threshold`` dB against the true final frame.
    """
    if tile is not None:
        return grid_exact(pred, true, tile)
    return (mse(pred, true) < mse(pred, before)) & (psnr(pred, true) >= psnr_threshold)


def copied(
    pred: np.ndarray,
    true: np.ndarray,
    before: np.ndarray,
    tile: int | TileBook | None = 8,
    psnr_threshold: float = 25.0,
) -> np.ndarray:
    """Did the simulator show the pre-action frame instead? ``outcome_shown`` with ``true`` and ``before`` swapped."""
    return outcome_shown(pred, before, true, tile, psnr_threshold)


def resample(chunk: np.ndarray, t: int) -> np.ndarray:
    """``t`` evenly spaced frames of a chunk (T, H, W, 3) at ``round(linspace(0, T-1, t))``: the last is kept."""
    idx = chunk_indices(len(chunk), t)
    return chunk[idx]


def flow_velocities(video: np.ndarray) -> np.ndarray:
    """Mean optical-flow magnitude (px/frame) of each consecutive pair of a (T, H, W, 3) video: (T-1,).

    Farnebäck flow (OpenCV) on grey frames: pyr_scale 0.5, 3 levels, window 15, 3 iterations, poly_n 5, σ 1.2.
    """
    grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in np.asarray(video)]
    out = []
    for a, b in zip(grey[:-1], grey[1:], strict=True):
        if np.array_equal(a, b):  # no motion by definition (Farnebäck returns ~1e-3 px of noise here)
            out.append(0.0)
            continue
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # (H, W, 2)
        out.append(float(np.linalg.norm(flow, axis=-1).mean()))
    return np.asarray(out)


def smoothness(video: np.ndarray) -> float:
    """PAN's transition smoothness of a video (T, H, W, 3), T ≥ 3.

    velocity v_i = mean flow magnitude between frames i and i+1; acceleration a_i = |v_{i+1} − v_i|;
    score = median(v) · exp(−median(a)). A static video scores 0 (no motion), steady motion scores its speed, and
    jerky motion is discounted. The score has pixel units: PAN reports it normalised to a percentage, so compare
    an imagined video against the true one of the same actions (their ratio), not against PAN's 53.6 %.

    Example:
        >>> still = np.zeros((5, 64, 64, 3), np.uint8)
        >>> smoothness(still)
        0.0
    """
    v = flow_velocities(video)
    if len(v) < 2:
        raise ValueError("smoothness needs a video of at least 3 frames")
    a = np.abs(np.diff(v))
    return float(np.median(v) * np.exp(-np.median(a)))


def consistency(scores: np.ndarray, frac: float = 0.25) -> dict[str, float]:
    """Drift of a per-step score (e.g. SSIM against the true rollout) over a horizon of H steps.

    ``early`` / ``late`` are the means over the first / last ``frac`` of the steps, ``ratio`` = late / early clipped
    to [0, 1] (1: no drift; PAN's "consistency" is a percentage where higher means less drift), and ``slope`` the
    least-squares change of the score per step.

    Example:
        >>> consistency(np.ones(20))
        {'early': 1.0, 'late': 1.0, 'ratio': 1.0, 'slope': 0.0}
    """
    s = np.asarray(scores, np.float64)
    k = max(1, int(round(len(s) * frac)))
    early, late = float(s[:k].mean()), float(s[-k:].mean())
    ratio = float(np.clip(late / early, 0.0, 1.0)) if early > 0 else 0.0
    slope = float(np.polyfit(np.arange(len(s)), s, 1)[0]) if len(s) > 1 else 0.0
    return {"early": early, "late": late, "ratio": ratio, "slope": round(slope, 12) + 0.0}
