"""The metrics on inputs whose answer is known."""

import numpy as np
import pytest

from pan_gym.eval import metrics as M


def frames(n=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def test_identical_frames_are_perfect():
    a = frames(3)
    assert np.all(M.psnr(a, a) == M.PSNR_CAP)
    assert np.allclose(M.ssim(a, a), 1.0)
    assert np.all(M.tile_accuracy(a, a) == 1.0) and np.all(M.grid_exact(a, a))
    assert not M.changed(a[0], a[0]).any()


def test_one_tile_changed():
    a = np.zeros((64, 64, 3), np.uint8)
    b = a.copy()
    b[8:16, 24:32] = 200
    assert M.tile_accuracy(a, b) == pytest.approx(63 / 64)
    assert not M.grid_exact(a, b)
    assert M.changed(a, b)
    c = a.copy()
    c[8, 24] = 3  # a small per-pixel difference passes with a tolerance
    assert not M.grid_exact(a, c) and M.grid_exact(a, c, tol=3)


def test_psnr_and_ssim_known_values():
    a = np.zeros((64, 64, 3), np.uint8)
    b = np.full((64, 64, 3), 255, np.uint8)
    assert float(M.psnr(a, b)) == pytest.approx(0.0)
    assert float(M.psnr(a, np.full_like(a, 1))) == pytest.approx(20 * np.log10(255))
    x, y = frames(1, 1)[0], frames(1, 2)[0]
    assert abs(float(M.ssim(x, y))) < 0.1  # independent noise
    assert M.ssim(frames(4), frames(4, 5)).shape == (4,)


def test_outcome_shown_and_copied():
    before, true = frames(1, 0)[0], frames(1, 1)[0]
    assert M.outcome_shown(true, true, before) and not M.outcome_shown(before, true, before)
    assert M.copied(before, true, before) and not M.copied(true, true, before)
    # untiled worlds: nearer the truth than the start, and above the PSNR threshold
    assert M.outcome_shown(true, true, before, tile=None) and not M.outcome_shown(
        before, true, before, tile=None
    )


def test_smoothness_static_steady_and_jerky():
    still = np.repeat(frames(1)[None, 0], 6, axis=0)
    assert M.smoothness(still) == 0.0
    base = np.zeros((96, 96, 3), np.uint8)
    base[30:60, 30:60] = np.random.default_rng(0).integers(0, 256, (30, 30, 3))
    steady = np.stack([np.roll(base, 2 * t, axis=1)[16:80, 16:80] for t in range(8)])
    jerky = np.stack(
        [np.roll(base, [0, 4, 4, 10, 10, 16, 16, 22][t], axis=1)[16:80, 16:80] for t in range(8)]
    )
    s, j = M.smoothness(steady), M.smoothness(jerky)
    assert s > 0.1 and j < s
    with pytest.raises(ValueError):
        M.smoothness(still[:2])


def test_consistency_drift():
    assert M.consistency(np.ones(20))["ratio"] == 1.0
    falling = M.consistency(np.linspace(1.0, 0.2, 20))
    assert falling["ratio"] < 0.5 and falling["slope"] < 0


def test_resample_keeps_last():
    chunk = np.arange(4)[:, None, None, None] * np.ones((4, 2, 2, 3), np.uint8)
    assert M.resample(chunk, 2)[:, 0, 0, 0].tolist() == [0, 3]
    assert M.resample(chunk[:1], 4).shape[0] == 4


def test_rejects_non_uint8():
    with pytest.raises(ValueError):
        M.psnr(np.zeros((64, 64, 3)), np.zeros((64, 64, 3)))


def test_tile_book_reads_cells_as_the_tile_they_clearly_show():
    black, red = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), (200, 0, 0), np.uint8)
    book = M.TileBook(np.stack([black, red]))
    true = np.zeros((16, 16, 3), np.uint8)
    true[:8, :8] = red
    noisy = np.clip(true.astype(int) + np.random.default_rng(0).integers(-4, 5, true.shape), 0, 255).astype(
        np.uint8
    )
    assert book.read(true).tolist() == [[1, 0], [0, 0]]
    # render noise is not a wrong tile
    assert M.grid_exact(noisy, true, book) and not M.grid_exact(noisy, true, 8)
    blend = true.copy()
    blend[:8, :8] = (100, 0, 0)  # half agent, half floor: no tile clearly shown
    assert book.read(blend)[0, 0] == -1 and not M.grid_exact(blend, true, book)
    moved = true.copy()
    moved[:8, :8], moved[8:, 8:] = black, red
    assert M.tile_accuracy(moved, true, book) == pytest.approx(0.5)
