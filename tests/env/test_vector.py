"""The native batched vector env: make_vec, batching, same-step autoreset, determinism, row-exact cohorts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

import pan_gym  # noqa: F401
from pan_gym.env.models import resolve_model
from pan_gym.env.vector import PanWorldModelVectorEnv
from pan_gym.env.world_model_env import PanWorldModelEnv

ACTIONS = ["turn left", "go forward", "turn right", "pick up the key"]


def test_make_vec_entry_point(world):
    envs = gym.make_vec(
        "pan_gym/BabyAI-v0", num_envs=3, vectorization_mode="vector_entry_point", model="tiny", world=world
    )
    assert isinstance(envs.unwrapped, PanWorldModelVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert envs.unwrapped.max_episode_steps == 64
    obs, infos = envs.reset(seed=0)
    assert obs["frames"].shape == (3, 2, 64, 64, 3) and infos["mission"].shape == (3,)
    obs, rewards, terminated, truncated, infos = envs.step(("turn left", "go forward", "turn right"))
    assert envs.observation_space.contains(obs) and rewards.dtype == np.float32
    assert list(infos["action"]) == ["turn left", "go forward", "turn right"]
    assert envs.action_space.contains(tuple(envs.action_space.sample()))


def test_determinism(world):
    def run():
        envs = PanWorldModelVectorEnv(3, model="tiny", world=world, max_episode_steps=2)
        out = [envs.reset(seed=5)[0]]
        for t in range(5):
            out.append(envs.step([ACTIONS[(t + i) % 4] for i in range(3)])[0])
        return out

    for a, b in zip(run(), run(), strict=True):
        assert np.array_equal(a["frames"], b["frames"]) and np.array_equal(a["state"], b["state"])


def test_same_step_autoreset_truncation(world):
    envs = PanWorldModelVectorEnv(
        2, model="tiny", world=world, max_episode_steps=2, termination_threshold=2.0
    )
    envs.reset(seed=0)
    envs.step(["turn left"] * 2)
    obs, _, terminated, truncated, infos = envs.step(["go forward"] * 2)
    assert truncated.all() and not terminated.any()
    assert infos["_final_obs"].all() and infos["final_obs"][0]["frames"].shape == (2, 64, 64, 3)
    assert infos["final_info"]["step"][0] == 2 and infos["final_info"]["action"][1] == "go forward"
    assert (infos["step"] == 0).all() and not obs["state"].any()  # the next episode's first observation
    assert np.array_equal(obs["frames"][:, 0], obs["frames"][:, 1])  # a start frame, repeated
    assert envs.num_cohorts == 1  # all restarted together: one batch again


def test_partial_autoreset_rows_match_single_envs(world):
    """Latent-only (no sampling noise): each sub-env of the vector env must follow its own single-env rollout
    exactly while other sub-envs terminate and restart around it (cohorts split, restart, merge)."""
    model = resolve_model("tiny")
    n, steps = 3, 12
    stop = {(0, 2), (1, 5), (2, 5), (0, 9), (1, 10)}  # (sub-env, its global step) where it terminates
    clock = {"t": 0}

    def reward_fn(obs, action, info):
        return 0.0, (int(action.split()[-1]), clock["t"]) in stop

    frames = np.stack([world.reset(seed=s)[0] for s in range(n)])
    envs = PanWorldModelVectorEnv(n, model=model, world=None, latent_only=True, reward_fn=reward_fn)
    envs.reset(seed=0, options={"observation": frames, "mission": "m"})
    singles = [PanWorldModelEnv(model=model, world=None, latent_only=True) for _ in range(n)]
    for i, s in enumerate(singles):
        s.reset(seed=0, options={"observation": frames[i], "mission": "m"})
    cohorts, ended = set(), set()
    for t in range(steps):
        clock["t"] = t
        acts = [f"{ACTIONS[(t * (i + 1)) % 4]} {i}" for i in range(n)]
        obs, _, terminated, _, infos = envs.step(acts)
        cohorts.add(envs.num_cohorts)
        for i, s in enumerate(singles):
            ref = s.step(acts[i])[0]["state"]
            got = infos["final_obs"][i]["state"] if terminated[i] else obs["state"][i]
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
            if terminated[i]:
                ended.add((i, t))
                s.reset(seed=0, options={"observation": frames[i], "mission": "m"})
    assert ended == stop and max(cohorts) == 3


def test_vector_rows_draw_no_noise_after_their_first_decode_with_shared_noise():
    """``diffusion.shared_noise``: a vector env's rows keep drawing nothing after their first decode."""
    model = resolve_model("tiny", overrides="diffusion.shared_noise=true")
    envs = PanWorldModelVectorEnv(2, model=model, world=None, termination_threshold=2.0)  # no autoreset
    envs.reset(seed=0, options={"observation": np.zeros((2, 64, 64, 3), np.uint8), "mission": "m"})
    envs.step(["turn left", "go forward"])
    drawn = envs.generator.get_state()
    envs.step(["turn right", "go forward"])
    assert torch.equal(envs.generator.get_state(), drawn)


def test_vector_reset_options_and_render(world, frame):
    envs = PanWorldModelVectorEnv(2, model="tiny", world=None, render_mode="rgb_array", reward="goal")
    with pytest.raises(ValueError, match="goal"):
        envs.reset(options={"observation": frame})
    obs, infos = envs.reset(options={"observation": frame, "mission": ["a", "b"], "goal": [frame, frame]})
    assert list(infos["mission"]) == ["a", "b"]
    obs, rewards, *_ = envs.step(["turn left"] * 2)
    assert (rewards <= 0).all()
    assert all(np.array_equal(r, f[-1]) for r, f in zip(envs.render(), obs["frames"], strict=True))
    with pytest.raises(ValueError, match="one int"):
        envs.reset(seed=[1, 2])


def test_bf16_precisions_step_close_to_fp32(world):
    import torch

    from pan_gym.env.models import resolve_model
    from pan_gym.env.vector import PanWorldModelVectorEnv

    out = {}
    for precision in ("fp32", "bf16", "bf16-weights"):
        envs = PanWorldModelVectorEnv(2, model="tiny", world=world, precision=precision)
        envs.reset(seed=3)
        obs, rewards, *_ = envs.step(["turn left", "go to the red ball"])
        assert (
            obs["state"].dtype == np.float32
            and obs["frames"].dtype == np.uint8
            and rewards.dtype == np.float32
        )
        out[precision] = (torch.from_numpy(obs["frames"]).float(), torch.from_numpy(rewards))
    # bf16-weights runs a bf16 copy; the shared model other envs use stays fp32
    assert envs.model.dtype == torch.bfloat16 and resolve_model("tiny").dtype == torch.float32
    f32, r32 = out["fp32"]
    for precision in ("bf16", "bf16-weights"):
        f16, r16 = out[precision]
        assert not (torch.equal(f32, f16) and torch.equal(r32, r16))  # bf16 arithmetic really ran
        # ... to about the same result
        assert (f32 - f16).abs().mean() < 8 and torch.allclose(r32, r16, atol=0.05)
    with pytest.raises(ValueError, match="precision must be one of"):
        PanWorldModelVectorEnv(2, model="tiny", world=world, precision="fp16")


@pytest.mark.parametrize(
    "actions",
    [None, {"turn left", "turn right"}, {"turn left": 0, "turn right": 1}, "turn left", ["turn left"]],
)
def test_vector_actions_must_be_an_ordered_sequence_of_str(actions):
    envs = PanWorldModelVectorEnv(2, model="tiny", world=None)
    envs.reset(seed=0, options={"observation": np.zeros((64, 64, 3), np.uint8)})
    with pytest.raises(ValueError, match="list or tuple of 2 str"):
        envs.step(actions)
    envs.step(("turn left", "turn right"))
