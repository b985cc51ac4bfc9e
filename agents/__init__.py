"""Agents that plan and learn with pan-gym world models (built on the env API only).

- ``RandomAgent`` (``agents.random_agent``): uniform over a menu or the world's valid actions.
- ``CEMPlanner`` (``agents.cem``): categorical cross-entropy method over language-action sequences.
- ``MPC``, ``run_episode`` (``agents.mpc``): receding-horizon control around any planner; the real-world loop.
- ``ProposeSimulateSelect`` (``agents.propose_simulate_select``): PAN's propose–simulate–select loop.
- ``ModelSimulator``, ``OracleSimulator`` (``agents.simulators``): the world model or the true world as the
  planner's model, batched.
- ``agents.imagination_ppo``: PPO trained in imagination vs in the real world (``python -m agents.imagination_ppo``).
- ``agents.goal_ppo``: the same toward goal images on Meta-World (``python -m agents.goal_ppo``).

Names are imported lazily so that ``import agents`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "RandomAgent": "agents.random_agent",
    "CEMPlanner": "agents.cem",
    "MPC": "agents.mpc",
    "run_episode": "agents.mpc",
    "ProposeSimulateSelect": "agents.propose_simulate_select",
    "MissionProposer": "agents.propose_simulate_select",
    "RandomProposer": "agents.propose_simulate_select",
    "ModelSimulator": "agents.simulators",
    "OracleSimulator": "agents.simulators",
    "Rollouts": "agents.simulators",
    "returns": "agents.simulators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
