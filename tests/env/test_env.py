"""PanWorldModelEnv: the Gymnasium contract, determinism, branching, rewards, latent-only, bounded memory."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import pan_gym  # noqa: F401  (registers the ids)
from pan_gym.env.world_model_env import PanWorldModelEnv

ACTIONS = ["turn left", "go forward", "pick up the blue key", "turn right"]


def rollout(env, seed, actions, options=None):
    obs, _ = env.reset(seed=seed, options=options)
    out = [obs]
    for a in actions:
        out.append(env.step(a)[0])
    return out


def same(a, b):
    return all(
        np.array_equal(x["frames"], y["frames"]) and np.array_equal(x["state"], y["state"])
        for x, y in zip(a, b, strict=True)
    )


def test_check_env_raw_and_make(world):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
        check_env(PanWorldModelEnv(model="tiny", world=world, render_mode="rgb_array"))
        env = gym.make("pan_gym/BabyAI-v0", model="tiny", world=world, render_mode="rgb_array")
        check_env(env)
        assert env.spec.max_episode_steps == 64
        check_env(gym.make("pan_gym/BabyAI-v0", model="tiny", world=world, latent_only=True))


def test_default_model_missing_is_a_clear_error(monkeypatch, tmp_path):
    from pan_gym.env import models

    monkeypatch.setitem(models.SHIPPED, "babyai", tmp_path / "missing")
    with pytest.raises(RuntimeError, match="no shipped babyai model.*model="):
        gym.make("pan_gym/BabyAI-v0", world=None)
    assert "pan_gym/MetaWorld-v0" in gym.registry


@pytest.mark.parametrize(
    "env_id, world, action",
    [
        ("pan_gym/BabyAI-v0", "babyai", "turn left"),
        ("pan_gym/MetaWorld-v0", "metaworld", "move the gripper up"),
    ],
)
def test_shipped_default_model_works_out_of_the_box(env_id, world, action):
    from pan_gym.env.models import SHIPPED

    if not (SHIPPED[world] / "config.json").is_file():
        pytest.skip(f"no {world} model ships in this copy")
    env = gym.make(env_id)
    obs, info = env.reset(seed=1_000_000)
    obs, reward, terminated, truncated, info = env.step(action)
    t = env.unwrapped.model.cfg.frames_per_chunk
    assert obs["frames"].shape == (t, 64, 64, 3) and obs["frames"].dtype == np.uint8


def test_model_kwarg_forms(tmp_path, world):
    from pan_gym.env.models import resolve_model

    model = resolve_model("tiny")
    assert PanWorldModelEnv(model=model, world=world).model is model
    assert PanWorldModelEnv(model="tiny", world=world).model is model  # cached per process
    model.save_pretrained(tmp_path / "m")
    loaded = PanWorldModelEnv(model=str(tmp_path / "m"), world=world).model
    assert PanWorldModelEnv(model=tmp_path / "m", world=world).model is loaded
    from pan_gym.env.models import ModelSpecError
    from pan_gym.model.io import CheckpointError

    with pytest.raises(ModelSpecError, match="neither 'default', a preset"):
        PanWorldModelEnv(model=str(tmp_path / "nothing-here"), world=world)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json: missing"):
        PanWorldModelEnv(model=str(tmp_path / "empty"), world=world)


def test_step_contract(world):
    env = PanWorldModelEnv(model="tiny", world=world, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    t, size = env.model.cfg.frames_per_chunk, env.model.cfg.image_size
    assert obs["frames"].shape == (t, size, size, 3) and obs["frames"].dtype == np.uint8
    assert not obs["state"].any() and isinstance(info["mission"], str) and info["mission"]
    obs, reward, terminated, truncated, info = env.step("  Go FORWARD. ")
    assert env.observation_space.contains(obs)
    assert info["action"] == "go forward" and info["step"] == 1
    assert isinstance(reward, float) and isinstance(terminated, bool) and truncated is False
    assert np.array_equal(env.render(), obs["frames"][-1])


def test_same_seed_same_rollout_and_reseeding(world):
    env = PanWorldModelEnv(model="tiny", world=world)
    a, b = rollout(env, 3, ACTIONS), rollout(env, 3, ACTIONS)
    assert same(a, b)
    other = PanWorldModelEnv(model="tiny", world=world)  # another instance, same seed
    assert same(a, rollout(other, 3, ACTIONS))
    assert not same(a, rollout(env, 4, ACTIONS))


def test_observation_option_resizes_and_mission(world, frame):
    env = PanWorldModelEnv(model="tiny", world=world)
    big = np.repeat(np.repeat(frame, 2, 0), 2, 1)  # (128, 128, 3)
    obs, info = env.reset(seed=0, options={"observation": big, "mission": "open the door"})
    assert obs["frames"].shape[1:] == (64, 64, 3) and info["mission"] == "open the door"
    obs, _ = env.reset(seed=0, options={"observation": torch.from_numpy(frame[:40, :50].copy())})
    assert obs["frames"].shape[1:] == (64, 64, 3) and env.step("turn left")[4]["mission"] == ""


def test_get_set_state_branching(world):
    env = PanWorldModelEnv(model="tiny", world=world)
    env.reset(seed=1)
    for a in ACTIONS[:3]:  # past the tiny model's history cap (3 rounds) so the cache has been rebuilt
        env.step(a)
    snap = env.get_state()
    branch_a = [env.step(a)[0] for a in ACTIONS]
    env.set_state(snap)
    branch_b = [env.step(a)[0] for a in ACTIONS]
    env.set_state(snap)  # a snapshot stays reusable
    branch_c = [env.step(a)[0] for a in ACTIONS]
    assert same(branch_a, branch_b) and same(branch_a, branch_c)
    env.set_state(snap)
    assert not same(branch_a[:1], [env.step("turn right")[0]])
    with pytest.raises(ValueError, match="get_state"):
        env.set_state({"nope": 1})


def test_latent_only(world):
    env = PanWorldModelEnv(model="tiny", world=world, latent_only=True)
    obs, _ = env.reset(seed=0)
    assert obs["frames"].shape == (0, 64, 64, 3)
    obs, *_ = env.step("turn left")
    assert obs["frames"].shape == (0, 64, 64, 3) and obs["state"].shape == (4, 32)
    assert env.observation_space.contains(obs)


def test_reward_modes(world, frame):
    env = PanWorldModelEnv(model="tiny", world=world, reward="goal", goal_threshold=1e9)
    with pytest.raises(ValueError, match="goal"):
        env.reset(seed=0)
    env.reset(seed=0, options={"goal": frame})
    _, r, terminated, _, _ = env.step("turn left")
    assert r <= 0 and terminated  # threshold huge: reached
    # a goal latent equal to h(ô) of the imagined frame gives distance 0
    env.reset(seed=0, options={"goal": frame})
    obs, *_ = env.step("turn left")
    with torch.no_grad():
        goal = env.model.encode(torch.from_numpy(obs["frames"][-1])[None])[0].numpy()  # (N_vis, D)
    env.reset(seed=0, options={"goal": goal})
    assert env.step("turn left")[1] == pytest.approx(0.0, abs=1e-4)

    seen = []

    def reward_fn(obs, action, info):
        seen.append((obs["frames"].shape, action, info["mission"]))
        return 2.5, action == "stop"

    env = PanWorldModelEnv(model="tiny", world=world, reward_fn=reward_fn)
    env.reset(seed=0, options={"mission": "m"})
    assert env.step("Turn left")[1:3] == (2.5, False) and env.step("stop")[2] is True
    assert seen[0] == ((2, 64, 64, 3), "turn left", "m")

    env = PanWorldModelEnv(model="tiny", world=world, termination_threshold=0.0)
    env.reset(seed=0)
    assert env.step("turn left")[2] is True  # the head's probability is always > 0


@pytest.mark.parametrize("latent_only,steps", [(True, 1000), (False, 150)])
def test_memory_flat(world, latent_only, steps):
    """1,000 latent-only steps (the backbone history is what could grow) and 150 decoded ones (the Swin window)."""
    env = PanWorldModelEnv(model="tiny", world=world, latent_only=latent_only)
    env.reset(seed=0)

    def held():
        return sum(t.numel() * t.element_size() for t in env._rollout.tensors())

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    sizes, rss_at = [], {}
    for i in range(steps):
        env.step(ACTIONS[i % len(ACTIONS)])
        sizes.append(held())
        if i in (steps // 5, steps - 1):
            rss_at[i] = rss()
    assert max(sizes[50:]) == max(sizes[:50])  # the history cap bounds what a rollout holds
    assert rss_at[steps - 1] - rss_at[steps // 5] < 32 * 2**20


def test_a_model_in_training_mode_steps_deterministically_and_keeps_its_mode(world):
    from pan_gym.model.glp import PanWorldModel

    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny")  # built in training mode: dropout on
    assert model.training and model.cfg.backbone.frame_dropout > 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
        check_env(gym.make("pan_gym/BabyAI-v0", model=model, world=world))
    assert model.training and all(m.training for m in model.modules())  # the caller's module as handed over
    env = PanWorldModelEnv(model=model, world=world)
    assert same(rollout(env, 3, ACTIONS), rollout(env, 3, ACTIONS))


def test_undo_on_a_made_env_keeps_the_time_limit(world):
    from pan_gym.env import get_state, set_state

    env = gym.make("pan_gym/BabyAI-v0", model="tiny", world=world, max_episode_steps=3)
    env.reset(seed=0)
    env.step("turn left")
    snap = get_state(env)
    env.step("turn left")
    assert env.step("turn left")[3]  # truncated at the limit
    set_state(env, snap)
    assert [env.step("turn left")[3] for _ in range(2)] == [False, True]
    with pytest.raises(ValueError, match="wrappers"):
        set_state(env.unwrapped, snap)  # taken on another wrapper chain


def test_set_state_checks_the_whole_snapshot_before_changing_anything(world):
    from pan_gym.config import apply_overrides, preset
    from pan_gym.model.glp import PanWorldModel

    env = PanWorldModelEnv(model="tiny", world=world)
    env.reset(seed=1)
    env.step("turn left")
    before = env.get_state()
    expected = env.step("go forward")[0]
    env.set_state(before)

    foreign = []
    for overrides in ("frames_per_chunk=1", "backbone.num_queries=2"):
        other = PanWorldModelEnv(model=PanWorldModel.from_config(apply_overrides(preset("tiny"), overrides)))
        other.reset(seed=1, options={"observation": np.zeros((64, 64, 3), np.uint8)})
        other.step("turn left")
        foreign.append(other.get_state()["rollout"])
    bad_fields = [
        ({**before, "steps": -1}, "steps"),
        ({**before, "mission": 3}, "mission"),
        ({**before, "generator": torch.zeros(3)}, "generator"),
        ({**before, "last_frame": np.zeros((64, 64), np.uint8)}, "last_frame"),
        ({**before, "rollout": "x"}, "rollout"),
        ({**before, "rollout": foreign[0]}, "another model"),
        ({**before, "rollout": foreign[1]}, "another model"),
    ]
    for snap, match in bad_fields:
        with pytest.raises(ValueError, match=match):
            env.set_state(snap)
    assert same([env.step("go forward")[0]], [expected])  # the env is as it was before the refused snapshots
