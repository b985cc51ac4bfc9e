"""The suite is world-agnostic: Meta-World (no tiles) with the oracle and the copy baseline."""

import pytest

pytest.importorskip("metaworld")


def test_metaworld_oracle_and_copy():
    from pan_gym.eval.fidelity import action_fidelity, world_tile
    from pan_gym.eval.simulators import CopySimulator, OracleSimulator
    from pan_gym.eval.starts import eval_seeds, start_states
    from pan_gym.worlds import make_world

    world = make_world("metaworld", tasks=("drawer-open-v3",))
    assert world_tile(world) is None
    starts = start_states(world, eval_seeds(2), max_warmup=1)
    oracle = OracleSimulator(make_world("metaworld", tasks=("drawer-open-v3",)))
    r = action_fidelity(world, oracle, starts, "agent", 1, progress=False)
    assert r["fidelity"] == 1.0 and "tile_accuracy" not in r
    c = action_fidelity(world, CopySimulator(), starts, "agent", 1, progress=False)
    assert c["fidelity"] == 0.0 and c["copy_rate"] == 1.0
