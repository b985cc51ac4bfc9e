"""Collection: the on-disk format, reproducibility, resuming, and atomic commits under kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensordict import TensorDict

from pan_gym.data import collect, committed_episodes

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"first_frame", "frames", "rewards", "terminated", "truncated", "is_env_event"}


def check_episode(path: Path) -> int:
    """Load a committed episode completely and check it against the format; returns its step count S."""
    td = TensorDict.load_memmap(path)
    meta = json.loads((path / "episode.json").read_text())
    assert set(td.keys()) == KEYS
    s = len(meta["actions"])
    assert s >= 1 and len(meta["canonical_actions"]) == s and meta["mission"] and meta["world"] == "babyai"
    assert td["first_frame"].shape == (64, 64, 3) and str(td["first_frame"].dtype) == "torch.uint8"
    assert td["frames"].shape == (s, 4, 64, 64, 3) and str(td["frames"].dtype) == "torch.uint8"
    assert str(td["rewards"].dtype) == "torch.float32" and td["rewards"].shape == (s,)
    for k in ("terminated", "truncated", "is_env_event"):
        assert str(td[k].dtype) == "torch.bool" and td[k].shape == (s,)
    done = td["terminated"] | td["truncated"]
    assert done[-1] and not done[:-1].any()  # only the last step ends the episode
    assert int(td["frames"].sum()) > 0  # fully written, not a zero-filled file
    return s


def test_collect_writes_episodes_in_the_documented_format(tmp_path):
    stats = collect("babyai", episodes=3, out=tmp_path, policy="mixed", max_steps=5, progress=False)
    paths = committed_episodes(tmp_path)
    assert [p.name for p in paths] == ["episode_000000", "episode_000001", "episode_000002"]
    assert sum(check_episode(p) for p in paths) == stats.steps and stats.frames == 4 * stats.steps
    meta = json.loads((paths[1] / "episode.json").read_text())
    assert meta["seed"] == 1 and meta["policy"] == "mixed"


def test_collection_is_reproducible_per_seed(tmp_path):
    collect("babyai", episodes=2, out=tmp_path / "a", policy="random", seed=5, max_steps=6, progress=False)
    collect("babyai", episodes=2, out=tmp_path / "b", policy="random", seed=5, max_steps=6, progress=False)
    for name in ("episode_000000", "episode_000001"):
        a, b = (TensorDict.load_memmap(tmp_path / d / name) for d in "ab")
        assert (a == b).all()
        assert (tmp_path / "a" / name / "episode.json").read_text() == (
            tmp_path / "b" / name / "episode.json"
        ).read_text()


def test_a_crash_mid_write_leaves_no_episode_and_a_rerun_recovers(tmp_path, monkeypatch):
    collect("babyai", episodes=1, out=tmp_path, policy="random", max_steps=4, progress=False)

    def crash(src, dst):
        raise KeyboardInterrupt  # dies after writing the temp dir, before the commit

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        collect("babyai", episodes=3, out=tmp_path, policy="random", max_steps=4, progress=False)
    monkeypatch.undo()
    assert [p.name for p in committed_episodes(tmp_path)] == ["episode_000000"]
    # the half-written one is not an episode
    assert any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
    stats = collect("babyai", episodes=3, out=tmp_path, policy="random", max_steps=4, progress=False)
    assert stats.episodes == 2 and len(committed_episodes(tmp_path)) == 3
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())


def test_kill_9_during_collection_then_reload_and_resume(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "pan_gym.cli", "collect", "--world", "babyai", "--out", str(tmp_path)]
    proc = subprocess.Popen(
        [*cmd, "--episodes", "100000", "--policy", "mixed"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while len(committed_episodes(tmp_path)) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "collector did not commit episodes"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    paths = committed_episodes(tmp_path)
    assert [p.name for p in paths] == [f"episode_{i:06d}" for i in range(len(paths))]
    for p in paths:
        check_episode(p)
    n = len(paths)
    done = subprocess.run(
        [*cmd, "--episodes", str(n + 2), "--policy", "mixed"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "collected 2 episodes" in done.stdout and "frames/s" in done.stdout
    assert [p.name for p in committed_episodes(tmp_path)] == [f"episode_{i:06d}" for i in range(n + 2)]
    assert sorted(os.listdir(tmp_path)) == [f"episode_{i:06d}" for i in range(n + 2)]  # stale temp dirs gone
    for p in committed_episodes(tmp_path):
        check_episode(p)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_event_prob_sets_the_share_of_environment_events(tmp_path, p):
    collect("babyai", 2, tmp_path, policy="mixed", max_steps=6, progress=False, event_prob=p)
    for ep in committed_episodes(tmp_path):
        events = TensorDict.load_memmap(ep)["is_env_event"]
        assert bool(events.all() if p == 1.0 else not events.any())
        assert json.loads((ep / "episode.json").read_text())["event_prob"] == p
    with pytest.raises(ValueError, match="event_prob"):
        collect("babyai", 3, tmp_path, event_prob=1.5, progress=False)


def test_macro_prob_sets_the_experts_share_of_whole_sub_tasks():
    from pan_gym.data.policies import ExpertPolicy, MixedPolicy, make_policy

    pol = make_policy("mixed", macro_prob=0.9)
    assert isinstance(pol, MixedPolicy) and pol.expert.macro_prob == 0.9
    assert make_policy("expert").macro_prob == ExpertPolicy().macro_prob
    with pytest.raises(ValueError, match="macro_prob"):
        make_policy("expert", macro_prob=-0.1)


def test_macro_policy_draws_mostly_multi_cell_actions():
    import numpy as np

    from pan_gym.data.policies import make_policy
    from pan_gym.worlds import make_world

    world, rng = make_world("babyai"), np.random.default_rng(0)
    world.reset(seed=2)
    pol = make_policy("macro")
    templates = [world.action_template(pol(world, rng)) for _ in range(400)]
    multi = sum(t in ("go to the {color} {obj}", "pick up the {color} {obj}") for t in templates)
    assert multi / len(templates) > 0.5  # vs ~0.2 for "random" on the same state


def test_carry_policy_drops_soon_after_picking_up():
    import numpy as np

    from pan_gym.data.policies import make_policy
    from pan_gym.worlds import make_world

    world, rng, pol = make_world("babyai"), np.random.default_rng(0), make_policy("carry")
    gaps, picked = [], None
    for ep in range(20):
        world.reset(seed=ep)
        for i in range(30):
            a = pol(world, rng)
            if a.startswith("pick up") or a == "drop it":
                was = world.env.carrying
                world.step(a)
                if a == "drop it" and was is not None and world.env.carrying is None and picked is not None:
                    gaps.append(i - picked)
                if a.startswith("pick up") and world.env.carrying is not None and was is None:
                    picked = i
            else:
                world.step(a)
    # vs ~ a tenth of the steps, far apart, for "macro"
    assert len(gaps) > 40 and np.median(gaps) <= 4
