"""PPO toward goal images, trained only inside the world model (Meta-World), beside the same PPO trained in the real
simulator for the same number of steps.

    python -m agents.goal_ppo --help
    python -m agents.goal_ppo --model tiny --total-timesteps 128 --n-steps 16 --batch-size 16 --train-goals 2 \
        --eval-episodes 2 --distance-steps 50                                          # smoke run

V-JEPA 2-AC's goal-image setting as an RL problem. Each episode starts from a start state of one Meta-World task
(reach by default) and is given a goal image: a frame of the task done that the gripper motions can reach
(``pan_gym.eval.goals.search_goal`` in the true world, once per seed; ``--goal-cache`` keeps them). The policy sees
the last frame and the goal image (stacked as one 6-channel image) and picks a gripper motion ("move the gripper
left", …, "close the gripper").

The reward is the same in both arms: ``-d(frame, goal) / d(start, goal)``, read from the imagined frame in
imagination and from the rendered frame in the real world. ``d`` is, by default, ``agents.goal_distance``'s head: a
CNN trained on real frames of the training starts to predict the hand–target distance (``--reward learned``); or
``agents.goal_image.GoalImage``'s L1 between the world model's encoder tokens (``--reward goal-image``), which hardly
tracks the task on reach. Episodes last ``max_episode_steps`` actions: imagination has no success signal, so neither
arm ends an episode early in training.

Evaluation, both arms: the real simulator, evaluation seeds (from 1,000,000, never used in training), deterministic
actions; success is the world's own flag (reach: the hand within 5 cm of the target) at any step.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper

from agents import goal_distance
from agents.goal_distance import stack
from agents.goal_image import GoalImage
from agents.imagination_ppo import PPOArgs, finish, train
from pan_gym.worlds.metaworld_tasks import GRIPPER_MOTIONS

MOTIONS = list(GRIPPER_MOTIONS)


@dataclass
class Args(PPOArgs):
    """Goal-image PPO in imagination vs in the real simulator (equal environment steps)."""

    model: str | None = None
    """the world model: None for the shipped Meta-World model, a preset (tiny, small) or a directory"""
    task: str = "reach-v3"
    """the Meta-World task"""
    train_goals: int = 200
    """training seeds (from 0) whose start state and goal image the episodes draw from"""
    goal_depth: int = 8
    """goal search: the most gripper motions a goal may take from the start"""
    goal_beam: int = 8
    """goal search: sequences kept at each depth"""
    goal_cache: str | None = None
    """a directory that keeps the goal images found (reused when the task and the search match)"""
    reward: str = "learned"
    """the distance both arms are paid by: learned (``agents.goal_distance``: a CNN trained on real frames of the
    training starts, labelled with the hand-target distance) or goal-image (the model's encoder tokens)"""
    distance_steps: int = 1500
    """optimizer steps of the learned distance head"""
    max_episode_steps: int = 10
    """actions per episode (imagined and real)"""
    eval_episodes: int = 50
    """real-world evaluation episodes (evaluation seeds whose goal was found)"""
    precision: str = "bf16-weights"
    """the model's arithmetic: fp32, bf16 (autocast) or bf16-weights (the model cast to bf16)"""


# ---- goals --------------------------------------------------------------------------------------------------------
@dataclass
class GoalBank:
    """Start seeds of one task and a reachable goal image for each (seeds whose search failed are left out).

    Example:
        >>> from pan_gym.worlds import make_world
        >>> bank = GoalBank.find(make_world("metaworld", tasks=("reach-v3",)), [0], depth=4, beam=4)
        >>> len(bank), bank.frames.shape
        (1, (1, 64, 64, 3))
    """

    seeds: np.ndarray  # (G,) int64 world seeds
    frames: np.ndarray  # (G, H, W, 3) uint8 goal images

    @classmethod
    def find(cls, world: Any, seeds: list[int], depth: int, beam: int, cache: str | None = None) -> GoalBank:
        """Search a goal for each seed (``search_goal`` over the gripper motions), or load them from ``cache``."""
        from pan_gym.eval.goals import search_goal

        path = None
        if cache is not None:
            name = f"goals-{world.tasks[0]}-{seeds[0]}-{len(seeds)}-d{depth}b{beam}.npz"
            path = Path(cache) / name
            if path.exists():
                try:
                    with np.load(path, allow_pickle=False) as f:
                        return cls(f["seeds"], f["frames"])
                except (
                    OSError,
                    ValueError,
                    KeyError,
                    zipfile.BadZipFile,
                ) as err:  # searched again, rewritten
                    warnings.warn(f"goal cache {path} cannot be read ({err}); searching again", stacklevel=2)
        found, frames = [], []
        for seed in seeds:
            world.reset(seed=seed)
            goal = search_goal(world, MOTIONS, depth=depth, beam=beam)
            if goal is not None:
                found.append(seed)
                frames.append(goal.frame)
        if not found:
            raise RuntimeError(f"no goal found within {depth} motions for any of {len(seeds)} seeds")
        bank = cls(np.array(found, np.int64), np.stack(frames))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, seeds=bank.seeds, frames=bank.frames)
            os.replace(tmp, path)  # a killed run leaves no half-written cache
        return bank

    def __len__(self) -> int:
        return len(self.seeds)


class BankWorld:
    """A world whose ``reset(seed)`` starts at bank seed ``seed mod G`` and gives its goal image as ``info["goal"]``."""

    def __init__(self, world: Any, bank: GoalBank) -> None:
        self._world, self.bank = world, bank

    def reset(self, seed: int | None = None):
        i = int(np.random.default_rng().integers(len(self.bank)) if seed is None else seed % len(self.bank))
        frame, info = self._world.reset(seed=int(self.bank.seeds[i]))
        return frame, {**info, "goal": self.bank.frames[i]}

    def __getattr__(self, name: str):
        return getattr(self._world, name)


# ---- envs ---------------------------------------------------------------------------------------------------------
class RealEnv(gym.Env):
    """The real simulator as the imagination env looks to SB3: the last frame, the world's reset info under
    ``info["world"]`` (where the goal is), reward 0 (``GoalObs`` gives it), no early end; ``info["success"]``."""

    def __init__(self, world: BankWorld, max_episode_steps: int) -> None:
        self.world, self.max_episode_steps = world, max_episode_steps
        self.observation_space = spaces.Box(0, 255, world.frame_shape, np.uint8)
        self.action_space = spaces.Discrete(len(MOTIONS))
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        world_seed = int(options["world_seed"]) if options else int(self.np_random.integers(2**31 - 1))
        frame, info = self.world.reset(seed=world_seed)
        self._t = 0
        return frame, {"world": info}

    def step(self, action):
        chunk, _, success, _, _ = self.world.step(MOTIONS[int(action)])
        self._t += 1
        return chunk[-1], 0.0, False, self._t >= self.max_episode_steps, {"success": bool(success)}


class GoalObs(VecEnvWrapper):
    """Frames (N, H, W, 3) -> frame and goal image stacked (N, H, W, 6), and the reward ``-d(frame, goal) / d(start,
    goal)`` for a distance ``d(frames, goals) -> (N,)``; each row's goal comes from its episode's reset info
    (``info["world"]["goal"]``)."""

    def __init__(self, venv: VecEnv, distance: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        box = venv.observation_space
        stacked = spaces.Box(0, 255, (*box.shape[:2], 6), np.uint8)
        super().__init__(venv, observation_space=stacked)
        self.distance = distance
        self.goals = np.zeros((venv.num_envs, *box.shape), np.uint8)  # (N, H, W, 3)
        self.start_distance = np.ones(venv.num_envs)  # (N,)

    def _new_goals(self, rows: list[int], goals: list[np.ndarray], first: np.ndarray) -> None:
        """New episodes in ``rows``: their goals, and their first frames' distance to them."""
        self.goals[rows] = np.stack(goals)
        self.start_distance[rows] = np.maximum(self.distance(first[rows], self.goals[rows]), 1e-6)

    def _wrap(self, obs: np.ndarray) -> np.ndarray:
        return stack(obs, self.goals)

    def reset(self):
        obs = self.venv.reset()
        goals = [info["world"]["goal"] for info in self.venv.reset_infos]
        self._new_goals(list(range(self.num_envs)), goals, obs)
        return self._wrap(obs)

    def step_wait(self):
        obs, _, dones, infos = self.venv.step_wait()
        last = obs.copy()
        done = np.flatnonzero(dones).tolist()
        for i in done:
            last[i] = infos[i]["terminal_observation"]
        rewards = (-self.distance(last, self.goals) / self.start_distance).astype(np.float32)
        if done:
            for i in done:
                infos[i]["terminal_observation"] = stack(last[i], self.goals[i])
            # the new episode's reset info: in the step info (pan-gym's vector env) or in reset_infos (SB3's)
            worlds = [infos[i].get("world") or self.venv.reset_infos[i]["world"] for i in done]
            self._new_goals(done, [w["goal"] for w in worlds], obs)
        return self._wrap(obs), rewards, dones, infos


def imagination_env(args: Args, world: Any, model: Any, distance: Callable) -> VecEnv:
    """The world model as an SB3 VecEnv over the gripper motions, starts and goals from the training bank."""
    from pan_gym.env import SB3VecEnv
    from pan_gym.env.registration import WORLD_ENV_IDS

    vec = gym.make_vec(
        WORLD_ENV_IDS["metaworld"],
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        model=model,
        world=world,
        reward=lambda obs, action, info: 0.0,  # GoalObs gives the reward
        max_episode_steps=args.max_episode_steps,
        precision=args.precision,
    )
    sb3 = SB3VecEnv(vec, MOTIONS)
    sb3.seed(args.seed)
    return GoalObs(sb3, distance)


def real_env(args: Args, world_of, distance: Callable) -> VecEnv:
    """The real simulator, one world per env, starts and goals from the training bank."""

    def make(i: int):
        def thunk():
            env = RealEnv(world_of(), args.max_episode_steps)
            env.reset(seed=args.seed + i)
            return env

        return thunk

    return GoalObs(DummyVecEnv([make(i) for i in range(args.num_envs)]), distance)


class RandomPolicy:
    """Uniform gripper motions, with SB3's ``predict`` signature: the baseline of the same evaluation."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[int, None]:
        return int(self.rng.integers(len(MOTIONS))), None


def evaluate_real(policy, world: BankWorld, args: Args) -> dict[str, float]:
    """Success rate and mean length in the real simulator over the bank's evaluation seeds (deterministic)."""
    env = RealEnv(world, args.max_episode_steps)
    wins, lengths = [], []
    for i, goal in enumerate(world.bank.frames):
        frame, _ = env.reset(options={"world_seed": i})
        success, steps = False, 0
        while not success and steps < args.max_episode_steps:
            action, _ = policy.predict(stack(frame, goal), deterministic=True)
            frame, _, _, _, info = env.step(int(action))
            success, steps = info["success"], steps + 1
        wins.append(success)
        lengths.append(steps)
    return {
        "success_rate": float(np.mean(wins)),
        "mean_steps": float(np.mean(lengths)),
        "episodes": len(wins),
    }


def main(args: Args) -> dict[str, Any]:
    """Find the goals, train in imagination and in the real world, evaluate both (and random motions) in the real
    world."""
    from pan_gym.env.models import resolve_model
    from pan_gym.eval.starts import eval_seeds
    from pan_gym.worlds import make_world

    if not (args.imagination or args.real):
        raise ValueError("nothing to train: give --imagination or --real")
    if args.reward not in ("learned", "goal-image"):
        raise ValueError(f"reward must be 'learned' or 'goal-image', got {args.reward!r}")
    torch.set_num_threads(args.threads)

    def world_of() -> Any:
        return make_world("metaworld", tasks=(args.task,))

    searcher = world_of()
    train_bank = GoalBank.find(
        searcher, list(range(args.train_goals)), args.goal_depth, args.goal_beam, args.goal_cache
    )
    eval_bank = GoalBank.find(
        searcher, eval_seeds(args.eval_episodes), args.goal_depth, args.goal_beam, args.goal_cache
    )
    model = resolve_model(args.model, default="metaworld")
    results: dict[str, Any] = {
        "args": asdict(args),
        "train_goals_found": len(train_bank),
        "eval_goals_found": len(eval_bank),
    }
    if args.reward == "learned":
        head, results["distance_head"] = goal_distance.fit(
            searcher, train_bank, eval_bank, steps=args.distance_steps, seed=args.seed
        )
        distance = head.distances
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            goal_distance.save(head, os.path.join(args.out, "goal_distance.safetensors"))
    else:
        distance = GoalImage(model).pair_distances
    searcher.close()
    policies = {}
    arms = [("imagination", args.imagination), ("real", args.real)]
    for arm in [name for name, on in arms if on]:
        if arm == "imagination":
            venv = imagination_env(args, BankWorld(world_of(), train_bank), model, distance)
        else:
            venv = real_env(args, lambda: BankWorld(world_of(), train_bank), distance)
        policies[arm], seconds = train(venv, args, "CnnPolicy")
        venv.close()
        results[arm] = {
            **evaluate_real(policies[arm], BankWorld(world_of(), eval_bank), args),
            "train_seconds": seconds,
        }
    results["random"] = evaluate_real(RandomPolicy(args.seed), BankWorld(world_of(), eval_bank), args)
    return finish(results, policies, args.out)


if __name__ == "__main__":
    from agents._args import parse_args

    print(json.dumps(main(parse_args(Args)), indent=2))
