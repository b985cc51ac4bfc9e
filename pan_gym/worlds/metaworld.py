"""Meta-World as a language world: tabletop manipulation with scripted experts, rendered at 64x64.

Each episode holds one Meta-World task (drawn from ``tasks`` by the reset seed) with a random goal and object position
from Meta-World's own task sampling. ``info["mission"]`` is the task instruction in words ("open the drawer").

Actions (see ``metaworld_tasks`` for every phrasing):
- the mission's instruction: Meta-World's scripted expert policy drives the arm for ``steps_per_action`` steps;
- gripper motions ("move the gripper left", "close the gripper"): a fixed action vector held for the same budget;
- environment events ("the puck is nudged left", "the drawer is nudged open"): the object's joint is offset at once,
  then the world runs the same budget of steps with the arm holding still.
A known action that does not fit the current scene (another task's instruction, an object that is not there) plays
out as holding still. Reward is Meta-World's (shaped, 0-10) reward after the action's last simulator step;
``terminated`` is true once Meta-World reports success at any simulator step of the action.
"""

from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")  # before the first `import mujoco`: headless rendering on a CPU

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from metaworld.env_dict import ALL_V3_ENVIRONMENTS  # noqa: E402
from metaworld.policies import ENV_POLICY_MAP  # noqa: E402

from pan_gym.worlds.base import ActionKind, Split, normalize_action  # noqa: E402
from pan_gym.worlds.metaworld_render import FastRenderer  # noqa: E402
from pan_gym.worlds.metaworld_tasks import (  # noqa: E402
    DEFAULT_TASKS,
    FREE_NUDGES,
    GRIPPER_MOTIONS,
    TASKS,
    TaskSpec,
    canonical_actions,
    event_text,
    phrasings,
    task_events,
)

_ENV_ATTR_TYPES = (np.ndarray, np.generic, int, float, bool, str, list, type(None))
# Everything mj_step reads: qpos, qvel, act, ctrl, mocap, applied forces, time, and the solver's warm start.
_PHYSICS = mujoco.mjtState.mjSTATE_INTEGRATION


@dataclass
class _Sim:
    """One task's Meta-World env, expert policy and renderer (built once per task, reused across episodes)."""

    spec: TaskSpec
    env: Any  # metaworld SawyerXYZEnv with the goal in the observation
    policy: Any  # metaworld.policies.*Policy: a pure function of the observation
    renderer: FastRenderer
    qpos_adr: int  # address of the event object's joint in qpos
    qvel_adr: int  # ... and in qvel


class MetaWorldWorld:
    """Meta-World tabletop manipulation behind language actions.

    Args:
        tasks: Meta-World task names (keys of ``metaworld_tasks.TASKS``) that ``reset`` draws from.
        frames_per_action: T, frames rendered per action, evenly spaced over its simulator steps.
        steps_per_action: Meta-World env steps (each 5 MuJoCo substeps) that one action runs for.
        camera: ``"workspace"`` (default free camera) or a Meta-World camera name such as ``"corner"``.
        size: frame height and width in pixels.
        max_actions: actions per episode before ``truncated`` (Meta-World's 500-step horizon at 25 steps each).
        seed: seeds the task/goal RNG used by ``reset(seed=None)``.

    Example:
        >>> from pan_gym.worlds import make_world
        >>> world = make_world("metaworld", tasks=("drawer-open-v3",))
        >>> frame, info = world.reset(seed=0)
        >>> frame.shape, info["mission"]
        ((64, 64, 3), 'open the drawer')
        >>> frames, reward, terminated, truncated, info = world.step("pull the drawer open")
        >>> frames.shape
        (4, 64, 64, 3)
        >>> snapshot = world.get_state()
        >>> a, *_ = world.step("the drawer is nudged shut")
        >>> world.set_state(snapshot)
        >>> b, *_ = world.step("the drawer is nudged shut")
        >>> bool((a == b).all())
        True
    """

    name = "metaworld"

    def __init__(
        self,
        tasks: tuple[str, ...] = DEFAULT_TASKS,
        frames_per_action: int = 4,
        steps_per_action: int = 25,
        camera: str = "workspace",
        size: int = 64,
        max_actions: int = 20,
        seed: int | None = None,
    ):
        unknown = [t for t in tasks if t not in TASKS]
        if unknown or not tasks:
            raise ValueError(f"unknown Meta-World tasks {unknown}; known: {sorted(TASKS)}")
        if not 1 <= frames_per_action <= steps_per_action:
            raise ValueError("need 1 <= frames_per_action <= steps_per_action")
        self.tasks = tuple(tasks)
        self.frames_per_action = frames_per_action
        self.steps_per_action = steps_per_action
        self.camera = camera
        self.frame_shape = (size, size, 3)
        self.max_actions = max_actions
        self._rng = np.random.default_rng(seed)
        # Steps (1-based) after which a frame is rendered: evenly spaced, the last one at the end of the action.
        self._render_at = {(i + 1) * steps_per_action // frames_per_action for i in range(frames_per_action)}
        self._sims: dict[str, _Sim] = {}
        self._sim: _Sim | None = None
        self._obs: np.ndarray | None = None  # (39,) Meta-World observation with the goal
        self._grip = -1.0  # last gripper command, held by motions and events
        self._n_actions = 0
        self._success = False
        self._canonical = canonical_actions(self.tasks)
        self._lookup: dict[str, str] = {}  # normalised phrasing -> canonical action
        for canonical in canonical_actions(tuple(TASKS)):
            for split in ("train", "heldout"):
                for text in phrasings(canonical, split):
                    self._lookup[normalize_action(text)] = canonical

    # ----------------------------------------------------------------------------------------------- episode
    def reset(self, seed: int | None = None, task: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a task (unless ``task`` names one of ``tasks``) and a goal/object position.

        Returns the first frame (H, W, 3) and info with ``"mission"`` (the instruction) and ``"task"``.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        drawn = self.tasks[int(self._rng.integers(len(self.tasks)))]  # drawn even when ``task`` is given
        if task is not None and task not in self.tasks:
            raise ValueError(f"task {task!r} is not one of this world's tasks {self.tasks}")
        task = drawn if task is None else task
        sim = self._get_sim(task)
        sim.env.seed(int(self._rng.integers(2**31 - 1)))  # Meta-World samples goal/object positions from this
        self._obs, _ = sim.env.reset()
        self._sim, self._grip, self._n_actions, self._success = sim, -1.0, 0, False
        return sim.renderer.render(sim.env.data), self._info()

    def step(self, action: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Execute a language action; returns (frames (T, H, W, 3) uint8, reward, terminated, truncated, info)."""
        canonical = self.parse(action)
        sim = self._require_sim()
        spec = sim.spec
        if canonical == spec.mission:
            control = None  # the expert
        elif canonical in GRIPPER_MOTIONS:
            dx, dy, dz, grip = GRIPPER_MOTIONS[canonical]
            self._grip = self._grip if grip is None else grip
            control = np.array([dx, dy, dz, self._grip], dtype=np.float32)
        else:
            if canonical in task_events(spec):
                self._nudge(sim, canonical)
            control = np.array([0.0, 0.0, 0.0, self._grip], dtype=np.float32)  # hold still
        frames = np.empty((self.frames_per_action, *self.frame_shape), dtype=np.uint8)  # (T, H, W, 3)
        reward, success, t = 0.0, False, 0
        for k in range(1, self.steps_per_action + 1):
            a = control
            if a is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the experts warn about their own gains
                    a = sim.policy.get_action(self._obs)
                self._grip = float(np.clip(a[3], -1.0, 1.0))
            self._obs, r, _, _, mw_info = sim.env.step(a)
            reward, success = float(r), success or bool(mw_info["success"])
            if k in self._render_at:
                sim.renderer.render(sim.env.data, out=frames[t])
                t += 1
        self._n_actions += 1
        self._success = self._success or success
        truncated = self._n_actions >= self.max_actions
        return frames, reward, success, truncated, self._info(success=success)

    def parse(self, action: str) -> str:
        """The canonical action that a phrasing means; ``ValueError`` naming the text and valid examples if none."""
        canonical = self._lookup.get(normalize_action(action))
        if canonical is None:
            examples = ", ".join(repr(a) for a in self._canonical[:: max(1, len(self._canonical) // 4)][:4])
            raise ValueError(
                f"cannot parse action {action!r} in the metaworld world; valid examples: {examples}"
            )
        return canonical

    # ----------------------------------------------------------------------------------------------- menus
    def actions(self, kind: ActionKind = "all") -> list[str]:
        """Canonical actions valid now: the mission and gripper motions (agent), object nudges (environment)."""
        sim = self._require_sim()
        agent = [sim.spec.mission, *GRIPPER_MOTIONS]
        env = [e for e in task_events(sim.spec) if self._nudge_moves(sim, e)]
        return {"agent": agent, "environment": env, "all": agent + env}[kind]

    def expert_action(
        self, rng: np.random.Generator, macro_prob: float = 0.3, event_prob: float = 0.0
    ) -> str:
        """The expert's action: the mission (Meta-World's scripted policy drives the arm), or with probability
        ``event_prob`` a random object nudge. ``macro_prob`` is accepted for the policy interface and unused: every
        expert action already runs the scripted policy for a whole action's steps."""
        del macro_prob
        if rng.random() < event_prob and (events := self.actions("environment")):
            return events[int(rng.integers(len(events)))]
        return self._require_sim().spec.mission

    def paraphrases(self, split: Split = "train") -> dict[str, list[str]]:
        """Canonical action -> its phrasings in ``split`` ("train" or "heldout"), for every task of this world."""
        if split not in ("train", "heldout"):
            raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
        return {c: phrasings(c, split) for c in self._canonical}

    def hand_and_goal(self) -> tuple[np.ndarray, np.ndarray]:
        """The hand's position and the task's goal position, (3,) each, from Meta-World's observation (labels for
        learned goal distances; a policy in the model never sees them)."""
        self._require_sim()
        return self._obs[:3].copy(), self._obs[-3:].copy()

    # ----------------------------------------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, Any]:
        """A deep snapshot: MuJoCo state, the task's model edits and env fields, env and world RNGs, counters."""
        sim = self._require_sim()
        env, m, d = sim.env, sim.env.model, sim.env.data
        physics = np.empty(mujoco.mj_stateSize(m, _PHYSICS))
        mujoco.mj_getState(m, d, physics, _PHYSICS)
        return {
            "task": sim.spec.env_name,
            "physics": physics,  # see _PHYSICS
            "body_pos": m.body_pos.copy(),  # Meta-World moves fixtures and goal sites in the model at reset
            "site_pos": m.site_pos.copy(),
            "site_xpos": d.site_xpos.copy(),  # goal sites are also written straight into data
            "env_attrs": {
                k: copy.deepcopy(v) for k, v in vars(env).items() if isinstance(v, _ENV_ATTR_TYPES)
            },
            "env_rng": copy.deepcopy(env.np_random.bit_generator.state),
            "world_rng": copy.deepcopy(self._rng.bit_generator.state),
            "obs": self._obs.copy(),
            "grip": self._grip,
            "n_actions": self._n_actions,
            "success": self._success,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a ``get_state`` snapshot exactly (same state and action -> identical frames)."""
        sim = self._get_sim(state["task"])
        env, m, d = sim.env, sim.env.model, sim.env.data
        m.body_pos[:] = state["body_pos"]
        m.site_pos[:] = state["site_pos"]
        mujoco.mj_setState(m, d, state["physics"], _PHYSICS)
        mujoco.mj_forward(m, d)  # positions for rendering; it also overwrites the solver's warm start ...
        mujoco.mj_setState(m, d, state["physics"], _PHYSICS)  # ... so put the snapshot's back
        d.site_xpos[:] = state["site_xpos"]
        for k, v in state["env_attrs"].items():
            setattr(env, k, copy.deepcopy(v))
        env.np_random.bit_generator.state = copy.deepcopy(state["env_rng"])
        self._rng.bit_generator.state = copy.deepcopy(state["world_rng"])
        self._sim, self._obs = sim, state["obs"].copy()
        self._grip, self._n_actions, self._success = state["grip"], state["n_actions"], state["success"]

    def close(self) -> None:
        for sim in self._sims.values():
            sim.renderer.close()
            sim.env.close()
        self._sims.clear()
        self._sim = None

    # ----------------------------------------------------------------------------------------------- internals
    def _info(self, success: bool | None = None) -> dict[str, Any]:
        sim = self._require_sim()
        return {
            "mission": sim.spec.mission,
            "task": sim.spec.env_name,
            "success": self._success if success is None else success,
            "n_actions": self._n_actions,
        }

    def _require_sim(self) -> _Sim:
        if self._sim is None:
            raise RuntimeError("call reset() before using the metaworld world")
        return self._sim

    def _get_sim(self, task: str) -> _Sim:
        if task not in self._sims:
            env = ALL_V3_ENVIRONMENTS[task]()
            env._partially_observable = False  # the experts read the goal from the observation
            env.__dict__.pop("sawyer_observation_space", None)  # a cached property that depends on the flag
            env._freeze_rand_vec = False  # sample a new goal/object position at every reset ...
            env.seeded_rand_vec = True  # ... from env.np_random
            env._set_task_called = True
            env.max_path_length = 10**9  # the world truncates by max_actions instead
            spec = TASKS[task]
            joint = env.model.joint(spec.joint).id
            self._sims[task] = _Sim(
                spec=spec,
                env=env,
                policy=ENV_POLICY_MAP[task](),
                renderer=FastRenderer(env.model, self.frame_shape[0], self.frame_shape[1], self.camera),
                qpos_adr=int(env.model.jnt_qposadr[joint]),
                qvel_adr=int(env.model.jnt_dofadr[joint]),
            )
        return self._sims[task]

    def _nudge_target(self, sim: _Sim, event: str) -> np.ndarray:
        """qpos after the nudge ``event`` (a canonical event of the sim's object)."""
        spec, qpos = sim.spec, sim.env.data.qpos.copy()
        if spec.nudges:  # slide or hinge joint: move along its axis, within its range
            (direction,) = [d for d in spec.nudges if event_text(spec.obj, d) == event]
            lo, hi = sim.env.model.jnt_range[sim.env.model.joint(spec.joint).id]
            qpos[sim.qpos_adr] = np.clip(qpos[sim.qpos_adr] + spec.nudges[direction], lo, hi)
        else:  # free joint: shift x/y
            (direction,) = [d for d in FREE_NUDGES if event_text(spec.obj, d) == event]
            qpos[sim.qpos_adr : sim.qpos_adr + 2] += FREE_NUDGES[direction]
        return qpos

    def _nudge_moves(self, sim: _Sim, event: str) -> bool:
        """Whether the nudge changes anything now (a slide or hinge already at its limit does not)."""
        return not np.allclose(self._nudge_target(sim, event), sim.env.data.qpos, atol=1e-4)

    def _nudge(self, sim: _Sim, event: str) -> None:
        m, d = sim.env.model, sim.env.data
        d.qpos[:] = self._nudge_target(sim, event)
        width = 6 if not sim.spec.nudges else 1  # a free joint has 6 velocity dofs
        d.qvel[sim.qvel_adr : sim.qvel_adr + width] = 0.0
        mujoco.mj_forward(m, d)
