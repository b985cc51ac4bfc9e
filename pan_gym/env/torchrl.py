"""A TorchRL adapter: the native batched vector env as a ``torchrl.envs.EnvBase`` over tensordicts.

Optional: needs the ``torchrl`` extra (torchrl is imported only when a ``TorchRLEnv`` is built). Actions are
indices into a menu of language actions (``Categorical``); observations are ``frames`` uint8 (N, T, H, W, 3) and
``state`` float32 (N, Q, D); reward (N, 1), done/terminated/truncated (N, 1).

The vector env resets finished sub-envs in the same step; TorchRL resets them on the next ``reset`` call with a
``"_reset"`` mask. The adapter bridges the two: a step returns the finished episode's last observation and keeps
the new episode's first one, which the following partial reset hands out (a partial reset of a sub-env that has
not finished raises).

Example (with torchrl installed):
    >>> from pan_gym.env.vector import PanWorldModelVectorEnv
    >>> env = TorchRLEnv(PanWorldModelVectorEnv(2, model="tiny", world="babyai"), ["turn left", "go forward"])  # doctest: +SKIP
    >>> td = env.rollout(3, break_when_any_done=False)  # doctest: +SKIP
    >>> td["next", "frames"].shape  # doctest: +SKIP
    torch.Size([2, 3, 2, 64, 64, 3])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pan_gym.env.wrappers import _check_menu


def _torchrl():
    try:
        import torchrl.data as data
        import torchrl.envs as envs
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "TorchRLEnv needs torchrl: pip install 'pan-gym[torchrl]' (torchrl==0.14.1; see the report on the "
            "tensordict pin)"
        ) from e
    return data, envs


class TorchRLEnv:
    """``TorchRLEnv(vec_env, menu)`` builds an ``EnvBase`` (a subclass made on first use: torchrl is optional)."""

    def __new__(cls, vec_env, menu: Sequence[str]):
        return _env_class()(vec_env, menu)


_CLASS = None


def _env_class():
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    data, envs = _torchrl()
    from tensordict import TensorDict

    class PanTorchRLEnv(envs.EnvBase):
        def __init__(self, vec_env, menu: Sequence[str]):
            n = vec_env.num_envs
            super().__init__(device="cpu", batch_size=torch.Size([n]))
            self.vec_env, self.menu, self._seed = vec_env, _check_menu(menu), None
            self._pending: dict[str, np.ndarray] | None = None  # first obs of episodes restarted by a step
            self._pending_rows = np.zeros(n, bool)
            frames, state = (
                vec_env.single_observation_space["frames"],
                vec_env.single_observation_space["state"],
            )
            self.observation_spec = data.Composite(
                frames=data.Bounded(0, 255, shape=(n, *frames.shape), dtype=torch.uint8),
                state=data.Unbounded(shape=(n, *state.shape), dtype=torch.float32),
                shape=(n,),
            )
            self.action_spec = data.Categorical(len(self.menu), shape=(n,))
            self.reward_spec = data.Unbounded(shape=(n, 1), dtype=torch.float32)
            self.done_spec = data.Composite(
                done=data.Categorical(2, shape=(n, 1), dtype=torch.bool),
                terminated=data.Categorical(2, shape=(n, 1), dtype=torch.bool),
                truncated=data.Categorical(2, shape=(n, 1), dtype=torch.bool),
                shape=(n,),
            )

        def _td(self, obs: dict, done=None, terminated=None, truncated=None, reward=None) -> TensorDict:
            n = self.vec_env.num_envs
            zeros = np.zeros(n, bool)
            out = {
                "frames": torch.from_numpy(np.ascontiguousarray(obs["frames"])),
                "state": torch.from_numpy(np.ascontiguousarray(obs["state"])),
            }
            for key, v in (("done", done), ("terminated", terminated), ("truncated", truncated)):
                out[key] = torch.from_numpy(zeros if v is None else v).view(n, 1)
            if reward is not None:
                out["reward"] = torch.from_numpy(reward).view(n, 1)
            return TensorDict(out, batch_size=[n])

        def _reset(self, tensordict=None, **kwargs) -> TensorDict:
            mask = None if tensordict is None else tensordict.get("_reset", None)
            if mask is None or bool(mask.all()) or self._pending is None:
                obs, _ = self.vec_env.reset(seed=self._seed)
                self._seed, self._pending, self._pending_rows[:] = None, None, False
                return self._td(obs)
            rows = mask.view(-1).cpu().numpy()
            if (rows & ~self._pending_rows).any():
                raise RuntimeError(
                    "partial reset of a sub-env whose episode has not finished is not supported"
                )
            self._pending_rows &= ~rows
            return self._td(self._pending)

        def _step(self, tensordict) -> TensorDict:
            actions = tensordict.get("action").view(-1).tolist()
            obs, reward, terminated, truncated, infos = self.vec_env.step(
                [self.menu[int(a)] for a in actions]
            )
            done = terminated | truncated
            if done.any():
                if self._pending is None:
                    self._pending = {k: v.copy() for k, v in obs.items()}
                for k, v in obs.items():  # the new episodes' first observations
                    self._pending[k][done] = v[done]
                self._pending_rows |= done
                obs = {k: v.copy() for k, v in obs.items()}
                for i in np.flatnonzero(done):
                    for k in obs:
                        obs[k][i] = infos["final_obs"][i][k]
            return self._td(obs, done, terminated, truncated, reward.astype(np.float32))

        def _set_seed(self, seed: int | None) -> None:
            self._seed = seed

    _CLASS = PanTorchRLEnv
    return _CLASS
