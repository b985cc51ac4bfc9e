"""PPO in imagination: stable-baselines3 PPO trained only inside the world model, evaluated in the real world, and the
same PPO trained in the real world for the same number of steps, for comparison.

    python -m agents.imagination_ppo --help
    python -m agents.imagination_ppo --model tiny --total-timesteps 256 --eval-episodes 4     # smoke run

Imagination: the native vector env (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) draws start
frames and missions from the world (training seeds only), a ``DiscreteLanguageActions``-style menu of language
actions maps ``Discrete(len(menu))`` to text, and ``SB3VecEnv`` adapts it to SB3 (one batched model call per step).
Rewards and terminations are the model's reward head, conditioned on the mission (or, with ``--reward
mission-distance``, ``agents.scorers.MissionReward`` read from the frames, in both arms). Observations: the last imagined
frame (``--obs frames``) or the predicted latent state ŝ (``--obs state``, latent-only stepping: no decoder), plus
a bag of words of the mission (a policy that cannot read the mission cannot know its target).

Real world: the same menu and observations from the true world (``WorldEnv``). A ``--obs state`` policy needs ŝ in
the real world too: the model runs alongside, stepped with the real actions from the real start frame (open loop).

Evaluation: success rate over ``eval_episodes`` evaluation seeds (disjoint from training) in the real world.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper

from agents.menus import FIXED_MENUS as MENUS
from pan_gym.worlds.babyai_phrases import COLORS, OBJECTS

MENU = MENUS["all"]
# mission bag of words: BabyAI GoTo / PickUp / PutNext missions and their location words
VOCAB = (*COLORS, *OBJECTS, "go", "pick", "put", "next", "left", "right", "front", "behind", "door")


@dataclass
class PPOArgs:
    """SB3 PPO's hyperparameters and the two arms, shared by the PPO-in-imagination scripts."""

    total_timesteps: int = 20_000
    """environment steps of each PPO run"""
    num_envs: int = 8
    """parallel rollouts (imagination: one batched model call per step)"""
    n_steps: int = 64
    """PPO rollout length per env between updates"""
    batch_size: int = 64
    """PPO minibatch size"""
    n_epochs: int = 4
    """PPO epochs per update"""
    learning_rate: float = 3e-4
    """Adam learning rate"""
    gamma: float = 0.95
    """discount"""
    ent_coef: float = 0.01
    """entropy bonus"""
    imagination: bool = True
    """train in imagination (``--no-imagination``: the real-world arm alone)"""
    real: bool = True
    """also train the same PPO in the real world for the same steps, for comparison"""
    seed: int = 0
    """seeds PPO, the envs and the evaluation"""
    threads: int = 1
    """torch threads (the machines here have 2 shared cores)"""
    out: str | None = None
    """write results.json (and the policies) into this directory"""


@dataclass
class Args(PPOArgs):
    """PPO in imagination vs PPO in the real world (equal environment steps)."""

    model: str | None = None
    """the world model: None for the shipped model (the env's default), a preset (tiny, small) or a directory"""
    world: str = "babyai"
    """the world (start states, and the real world for evaluation)"""
    levels: tuple[str, ...] = ("BabyAI-GoToLocal-v0", "BabyAI-PickupLoc-v0")
    """BabyAI levels (comma-separated on the command line): GoTo and PickUp missions"""
    menu: str = "all"
    """the action menu: all (turns, forward, go to / pick up any object), walk (turns, forward, pick up) or
    primitives (turns, forward: GoTo missions, e.g. ``--levels BabyAI-GoToObj-v0``)"""
    obs: str = "frames"
    """policy input: frames (the last imagined frame, CNN) or state (the predicted latent ŝ, latent-only)"""
    reward: str = "model"
    """model (the reward head on ŝ; the world's own reward in the real world) or mission-distance (both arms:
    ``agents.scorers.MissionReward`` read from the frames, 1 on success, a small penalty per action still needed)"""
    max_episode_steps: int = 8
    """episode length cap (imagined and real)"""
    eval_episodes: int = 50
    """real-world evaluation episodes (evaluation seeds, disjoint from training)"""
    precision: str = "fp32"
    """the model's arithmetic: fp32, bf16 (autocast) or bf16-weights (the model cast to bf16; fastest)"""


# ---- observations -----------------------------------------------------------------------------------------------
def mission_vector(mission: str) -> np.ndarray:
    """Bag of words of the mission over ``VOCAB`` -> float32 (V,)."""
    words = set(re.findall(r"[a-z]+", mission.lower()))
    return np.array([w in words for w in VOCAB], np.float32)


def obs_space(kind: str, size: int = 64, state_shape: tuple[int, int] | None = None) -> spaces.Dict:
    main = (
        spaces.Box(0, 255, (size, size, 3), np.uint8)
        if kind == "frames"
        else spaces.Box(-np.inf, np.inf, state_shape, np.float32)
    )
    return spaces.Dict({"obs": main, "mission": spaces.Box(0, 1, (len(VOCAB),), np.float32)})


class TrainSeeds:
    """A world whose ``reset(seed)`` only ever uses training seeds (seed mod 1,000,000): evaluation starts stay unseen."""

    def __init__(self, world: Any) -> None:
        self._world = world

    def reset(self, seed: int | None = None):
        from pan_gym.eval.starts import TRAIN_SEEDS

        seed = int(np.random.default_rng().integers(TRAIN_SEEDS.stop)) if seed is None else seed
        return self._world.reset(seed=seed % TRAIN_SEEDS.stop)

    def __getattr__(self, name: str):
        return getattr(self._world, name)


class MissionObs(VecEnvWrapper):
    """``SB3VecEnv`` (frames or ŝ) -> Dict(obs, mission bag of words); missions read from the env's infos."""

    def __init__(self, venv: VecEnv, state_shape: tuple[int, int] | None = None):
        kind = "frames" if len(venv.observation_space.shape) == 3 else "state"
        super().__init__(
            venv, observation_space=obs_space(kind, venv.observation_space.shape[0], state_shape)
        )
        self.missions = [""] * venv.num_envs

    def _wrap(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        return {"obs": obs, "mission": np.stack([mission_vector(m) for m in self.missions])}

    def reset(self):
        obs = self.venv.reset()
        self.missions = [info.get("mission", "") for info in self.venv.reset_infos]
        return self._wrap(obs)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for i, info in enumerate(infos):
            if "terminal_observation" in info:  # the finished episode's mission, before the new one's
                info["terminal_observation"] = {
                    "obs": info["terminal_observation"],
                    "mission": mission_vector(self.missions[i]),
                }
            self.missions[i] = info.get("mission", self.missions[i])
        return self._wrap(obs), rewards, dones, infos


class WorldEnv(gym.Env):
    """The true world with the same menu and observations (last real frame or the model's ŝ, + mission words).

    With ``obs="state"`` a latent-only model env runs alongside: reset at the real start frame, stepped with every
    real action, its ŝ is the observation (the real world has no ŝ of its own).
    """

    def __init__(
        self,
        world: Any,
        menu=MENU,
        obs: str = "frames",
        model=None,
        max_episode_steps: int = 8,
        precision: str = "fp32",
        reward_fn: Any = None,
    ) -> None:
        self.world, self.menu, self.kind, self.max_episode_steps = world, list(menu), obs, max_episode_steps
        self.reward_fn = reward_fn  # replaces the world's reward value (termination stays the world's)
        self.action_space = spaces.Discrete(len(self.menu))
        self.shadow = None
        state_shape = None
        if obs == "state":
            self.shadow = gym.make(
                "pan_gym/BabyAI-v0", model=model, world=None, latent_only=True, precision=precision
            ).unwrapped
            state_shape = self.shadow.observation_space["state"].shape
        self.observation_space = obs_space(obs, world.frame_shape[0], state_shape)
        self._mission, self._t = "", 0

    def _obs(self, frame: np.ndarray, state: np.ndarray | None) -> dict[str, np.ndarray]:
        main = frame if self.kind == "frames" else state
        return {"obs": main, "mission": mission_vector(self._mission)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options and "world_seed" in options:
            world_seed = int(options["world_seed"])
        else:
            world_seed = int(self.np_random.integers(1_000_000))  # training seeds only
        frame, info = self.world.reset(seed=world_seed)
        self._mission, self._t, state = info["mission"], 0, None
        if self.shadow is not None:
            state = self.shadow.reset(
                seed=world_seed, options={"observation": frame, "mission": self._mission}
            )[0]["state"]
        return self._obs(frame, state), {"mission": self._mission}

    def step(self, action):
        text = self.menu[int(action)]
        chunk, reward, terminated, truncated, info = self.world.step(text)
        self._t += 1
        state = self.shadow.step(text)[0]["state"] if self.shadow is not None else None
        truncated = truncated or (self._t >= self.max_episode_steps and not terminated)
        info = {**info, "success": bool(terminated and reward > 0)}
        if self.reward_fn is not None:
            reward = self.reward_fn({"frames": chunk}, text, {"mission": self._mission})[0]
        return self._obs(chunk[-1], state), float(reward), bool(terminated), bool(truncated), info


# ---- envs ---------------------------------------------------------------------------------------------------------
def make_world(args: Args):
    from pan_gym.worlds import make_world as _make

    return _make(args.world, levels=tuple(args.levels)) if args.world == "babyai" else _make(args.world)


def imagination_env(args: Args) -> VecEnv:
    """The world model as an SB3 VecEnv: native vector env + SB3 adapter + mission words."""
    from agents.scorers import MissionReward
    from pan_gym.env import SB3VecEnv
    from pan_gym.env.registration import WORLD_ENV_IDS

    vec = gym.make_vec(
        WORLD_ENV_IDS[args.world],
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        model=args.model,
        world=TrainSeeds(make_world(args)),
        reward=MissionReward() if args.reward == "mission-distance" else "model",
        latent_only=args.obs == "state" and args.reward == "model",
        max_episode_steps=args.max_episode_steps,
        precision=args.precision,
    )
    sb3 = SB3VecEnv(vec, MENUS[args.menu], obs="last_frame" if args.obs == "frames" else "state")
    sb3.seed(args.seed)
    state_shape = vec.single_observation_space["state"].shape if args.obs == "state" else None
    return MissionObs(sb3, state_shape)


def world_env(args: Args) -> WorldEnv:
    """The true world as ``args`` configure it (menu, observations, the model running alongside for ŝ)."""
    from agents.scorers import MissionReward

    reward_fn = MissionReward() if args.reward == "mission-distance" else None
    return WorldEnv(
        make_world(args),
        MENUS[args.menu],
        args.obs,
        args.model,
        args.max_episode_steps,
        args.precision,
        reward_fn,
    )


def real_env(args: Args) -> VecEnv:
    def make(i: int):
        def thunk():
            env = world_env(args)
            env.reset(seed=args.seed + i)
            return env

        return thunk

    return DummyVecEnv([make(i) for i in range(args.num_envs)])


# ---- training and evaluation --------------------------------------------------------------------------------------
def train(venv: VecEnv, args: PPOArgs, policy: str = "MultiInputPolicy"):
    """SB3 PPO with ``args``' hyperparameters, trained on ``venv``: (the model, seconds)."""
    from stable_baselines3 import PPO

    ppo = PPO(
        policy,
        venv,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        gamma=args.gamma,
        ent_coef=args.ent_coef,
        seed=args.seed,
        device="cpu",
        verbose=0,
    )
    tic = time.perf_counter()
    ppo.learn(total_timesteps=args.total_timesteps)
    return ppo, time.perf_counter() - tic


def evaluate_real(policy, args: Args) -> dict[str, float]:
    """Success rate and mean length of ``policy`` in the real world on evaluation seeds (deterministic actions)."""
    from pan_gym.eval.starts import eval_seeds

    env = world_env(args)
    wins, lengths = [], []
    for seed in eval_seeds(args.eval_episodes):
        obs, _ = env.reset(seed=seed, options={"world_seed": seed})
        done, steps = False, 0
        while not done:
            action, _ = policy.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(int(action))
            done, steps = terminated or truncated, steps + 1  # WorldEnv truncates at max_episode_steps
        wins.append(info["success"])
        lengths.append(steps)
    return {"success_rate": float(np.mean(wins)), "mean_steps": float(np.mean(lengths))}


def finish(results: dict[str, Any], policies: dict[str, Any], out: str | None) -> dict[str, Any]:
    """Add the imagination ÷ real success ratio (when both arms ran); write the policies and results.json to
    ``out``."""
    if "imagination" in results and "real" in results:
        real = results["real"]["success_rate"]
        results["imagination_over_real"] = results["imagination"]["success_rate"] / real if real else None
    if out:
        os.makedirs(out, exist_ok=True)
        for name, policy in policies.items():
            policy.save(os.path.join(out, f"ppo_{name}"))
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
    return results


def main(args: Args) -> dict[str, Any]:
    """Train in imagination (and in the real world when ``args.real``); evaluate both in the real world."""
    if args.obs not in ("frames", "state"):
        raise ValueError(f"obs must be 'frames' or 'state', got {args.obs!r}")
    if args.menu not in MENUS:
        raise ValueError(f"menu must be one of {', '.join(MENUS)}, got {args.menu!r}")
    if args.reward not in ("model", "mission-distance"):
        raise ValueError(f"reward must be 'model' or 'mission-distance', got {args.reward!r}")
    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {"args": asdict(args)}
    if not (args.imagination or args.real):
        raise ValueError("nothing to train: --no-imagination needs --real")
    policies = {}
    if args.imagination:
        venv = imagination_env(args)
        policies["imagination"], seconds = train(venv, args)
        results["imagination"] = {**evaluate_real(policies["imagination"], args), "train_seconds": seconds}
        venv.close()
    if args.real:
        policies["real"], seconds = train(real_env(args), args)
        results["real"] = {**evaluate_real(policies["real"], args), "train_seconds": seconds}
    return finish(results, policies, args.out)


if __name__ == "__main__":
    from agents._args import parse_args

    print(json.dumps(main(parse_args(Args)), indent=2))
