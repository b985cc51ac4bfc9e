"""The BabyAI world against the World contract: shapes, actions, events, errors, determinism, paraphrases."""

import numpy as np
import pytest

from pan_gym.worlds import World, make_world
from pan_gym.worlds.babyai import BabyAIWorld, render, resample
from pan_gym.worlds.babyai_phrases import TEMPLATES

INFO_KEYS = {"mission", "action", "kind", "primitive_steps", "carrying"}


@pytest.fixture()
def world() -> BabyAIWorld:
    w = make_world("babyai")
    w.reset(seed=0)  # GoToLocal
    return w


def test_protocol_first_frame_and_renderer(world):
    assert isinstance(world, World)
    frame, info = world.reset(seed=1)
    assert frame.dtype == np.uint8 and frame.shape == world.frame_shape == (64, 64, 3)
    assert info["mission"] == world.env.mission and info["mission"]
    # MiniGrid's renderer
    np.testing.assert_array_equal(frame, world.env.get_frame(highlight=False, tile_size=8))


def test_step_returns_a_fixed_size_chunk_and_info(world):
    for action in [
        "turn left",
        "move forward 3 steps",
        world.actions("agent")[5],
        world.actions("environment")[0],
    ]:
        frames, reward, terminated, truncated, info = world.step(action)
        assert frames.dtype == np.uint8 and frames.shape == (world.frames_per_action, 64, 64, 3)
        assert isinstance(reward, float) and isinstance(terminated, bool) and isinstance(truncated, bool)
        assert INFO_KEYS <= info.keys() and info["action"] == action
        np.testing.assert_array_equal(frames[-1], render(world.env))  # the chunk ends on the current state


def test_chunk_resampling():
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(8)]
    assert [f[0, 0, 0] for f in resample(frames, 4)] == [0, 2, 5, 7]
    assert [f[0, 0, 0] for f in resample(frames[:1], 4)] == [0, 0, 0, 0]
    assert [f[0, 0, 0] for f in resample(frames[:3], 4)] == [0, 1, 1, 2]
    assert [f[0, 0, 0] for f in resample(frames, 1)] == [7]  # one frame: the outcome, not the first step


def test_turn_is_one_primitive_step(world):
    before = world.env.agent_dir
    frames, *_, info = world.step("rotate right")
    assert info["primitive_steps"] == 1 and info["kind"] == "agent"
    assert world.env.agent_dir == (before + 1) % 4
    assert all((f == frames[0]).all() for f in frames)


def test_bad_action_text_gives_a_clear_error(world):
    with pytest.raises(ValueError, match=r"'fly to the moon'.*turn left"):
        world.step("fly to the moon")
    with pytest.raises(TypeError):
        world.step(7)


def test_unknown_or_no_levels_are_refused_at_construction():
    with pytest.raises(ValueError, match=r"unknown BabyAI levels \['BabyAI-Nowhere-v0'\]"):
        BabyAIWorld(levels=("BabyAI-GoToLocal-v0", "BabyAI-Nowhere-v0"))
    with pytest.raises(ValueError, match="at least one"):
        BabyAIWorld(levels=())


def test_reset_keeps_sampling_rejected_out_of_stdout(capsys):
    w = BabyAIWorld(levels=("BabyAI-GoToLocal-v0",))
    w.reset(seed=8)  # this seed makes BabyAI's level sampler print "Sampling rejected"
    assert "Sampling rejected" not in capsys.readouterr().out


def test_levels_must_be_8x8():
    with pytest.raises(ValueError, match="8×8"):
        BabyAIWorld(levels=("BabyAI-GoToObjS4-v0",)).reset(seed=0)


def _rollout(world, rng, n):
    out = []
    for _ in range(n):
        kind = "environment" if rng.random() < 0.3 else "agent"
        acts = world.actions(kind)
        frames, reward, term, trunc, info = world.step(acts[int(rng.integers(len(acts)))])
        out.append((frames, reward, term, trunc, info))
    return out


def test_get_set_state_restores_exactly(world):
    _rollout(world, np.random.default_rng(1), 3)
    state = world.get_state()
    first = _rollout(world, np.random.default_rng(2), 10)
    for _ in range(2):  # a snapshot can be restored more than once
        world.set_state(state)
        again = _rollout(world, np.random.default_rng(2), 10)
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a[0], b[0])
            assert a[1:] == b[1:]


def test_actions_name_only_what_is_there(world):
    objs = {
        f"{o.color} {o.type}"
        for o in world.env.grid.grid
        if o is not None and o.type in ("ball", "box", "key")
    }
    agent = world.actions("agent")
    assert {a.removeprefix("go to the ") for a in agent if a.startswith("go to")} == objs
    assert "drop it" not in agent
    env_events = world.actions("environment")
    assert set(world.actions()) == set(agent) | set(env_events)
    assert {
        a.removeprefix("the ").removesuffix(" disappears") for a in env_events if "disappears" in a
    } == objs
    target = sorted(objs)[0]
    _, _, terminated, _, info = world.step(f"pick up the {target}")
    if not terminated:
        assert info["carrying"] == target and "drop it" in world.actions("agent")
        assert not any(a.startswith("pick up") for a in world.actions("agent"))


def test_environment_events_change_the_grid(world):
    env = world.env
    world.step("a yellow ball appears in the top left corner")
    cell = env.grid.get(1, 1)
    assert (cell.type, cell.color) == ("ball", "yellow")
    frames, reward, _, _, info = world.step("the yellow ball turns green")
    assert info["kind"] == "environment" and info["primitive_steps"] == 1 and reward == 0.0
    assert env.grid.get(1, 1).color == "green"
    world.step("the green ball vanishes")
    assert env.grid.get(1, 1) is None
    steps = env.step_count
    world.step("a red key appears behind the agent")
    assert env.step_count == steps + 1  # an event counts as one simulator step


def test_doors_in_the_outer_wall(world):
    env = world.env
    world.step("a red door appears in the left wall")
    door = env.grid.get(0, 3)
    assert door.type == "door" and not door.is_open
    assert "open the red door" in world.actions("agent") and "the red door opens" in world.actions(
        "environment"
    )
    _, _, terminated, _, _ = world.step("open the red door")
    if terminated:
        pytest.skip("the mission ended on the way")
    assert door.is_open and "close the red door" in world.actions("agent")
    world.step("move forward")  # into the doorway
    assert tuple(env.agent_pos) == (0, 3)
    for action in ["move forward", "drop it", "turn left", "turn left"]:
        world.step(action)  # outside the room reads as wall: nothing crashes, nothing moves out
    assert tuple(env.agent_pos) == (0, 3)
    assert "the red door closes" not in world.actions("environment")  # the agent stands in it
    world.step("move forward")
    world.step("the red door closes")
    assert not door.is_open


def test_go_to_and_pick_up_follow_the_mission():
    w = BabyAIWorld(levels=("BabyAI-GoToLocal-v0",))
    _, info = w.reset(seed=0)
    frames, reward, terminated, _, step_info = w.step(info["mission"].replace("go to", "navigate to"))
    assert terminated and reward > 0 and step_info["primitive_steps"] >= 1
    assert w.env.front_pos is not None


def test_expert_solves_every_level():
    w, rng = BabyAIWorld(), np.random.default_rng(0)
    for seed in range(6):
        w.reset(seed=seed)
        for _ in range(40):
            _, reward, terminated, truncated, _ = w.step(w.expert_action(rng))
            if terminated or truncated:
                break
        assert terminated and reward > 0, w.env.mission


def test_every_heldout_paraphrase_is_accepted(world):
    world.step("a red door appears in the top wall")
    world.step("the red door opens")
    extra = [
        "toggle the red door",
        "open the red door",
        "the red door opens",
        "drop it",
    ]  # valid, not listed now
    present = world.actions("all") + extra
    state = world.get_state()
    for t in TEMPLATES:
        canonical = next(a for a in present if world.action_template(a) == t.canonical)
        parsed = world.phrasebook.parse(canonical)
        world.set_state(state)
        expected = world.step(canonical)[0]
        for p in world.paraphrases("heldout")[t.canonical]:
            world.set_state(state)
            frames, *_, info = world.step(p.format(**parsed.values))
            assert info["action"] == canonical
            np.testing.assert_array_equal(frames, expected)
    train, held = world.paraphrases("train"), world.paraphrases("heldout")
    assert train.keys() == held.keys() and all(not set(train[k]) & set(held[k]) for k in train)


def test_expert_falls_back_when_the_bot_gets_stuck(monkeypatch):
    from pan_gym.worlds.babyai_expert import _FullViewBot

    # every search now counts as an endless replanning loop
    monkeypatch.setattr(_FullViewBot, "max_searches", 0)
    w = BabyAIWorld(levels=("BabyAI-PutNextLocal-v0",))
    w.reset(seed=0)
    action = w.expert_action(np.random.default_rng(0), macro_prob=0.0)
    assert action in ("turn left", "turn right", "move forward") and w.bot is None


def test_snapshots_pickle(world):
    import pickle

    state = world.get_state()
    expected = world.step("move forward 2 steps")[0]
    world.set_state(pickle.loads(pickle.dumps(state)))
    np.testing.assert_array_equal(world.step("move forward 2 steps")[0], expected)


def test_every_rendered_cell_is_in_the_tileset(world):
    from pan_gym.eval.metrics import TileBook

    tiles = world.tiles()
    assert tiles.dtype == np.uint8 and tiles.shape[1:] == (8, 8, 3)
    assert len(np.unique(tiles.reshape(len(tiles), -1), axis=0)) == len(tiles)  # distinct
    book = TileBook(tiles)
    for seed in range(6):
        frame, _ = world.reset(seed=seed)
        chunk, *_ = world.step(world.actions("agent")[0])
        for f in (frame, chunk[-1]):
            cells = f.reshape(8, 8, 8, 8, 3).swapaxes(1, 2)  # (row, col, 8, 8, 3)
            ids = book.read(f)
            assert (ids >= 0).all() and (tiles[ids] == cells).all()
