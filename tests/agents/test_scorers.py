"""MissionDistance and the primitive menu: frames read back to the true grid, costs that bound the true path and reach
0 exactly when the world says the mission succeeded, unreadable frames, and planners on them beating random with the
true simulator."""

import numpy as np
import pytest

from agents.cem import CEMPlanner
from agents.menus import WithMenu, carry, primitives
from agents.mpc import MPC
from agents.propose_simulate_select import ProposeSimulateSelect
from agents.random_agent import RandomAgent
from agents.scorers import FrameReader, MissionDistance, parse_mission, parse_put_next
from agents.simulators import ModelSimulator, OracleSimulator, Rollouts
from pan_gym.eval.metrics import TileBook
from pan_gym.eval.planning_eval import evaluate_planner
from pan_gym.worlds import make_world
from pan_gym.worlds.babyai_grid import shortest_path, tile_labels, tileset

GOTO = ("BabyAI-GoToLocal-v0",)
PUTNEXT = ("BabyAI-PutNextLocal-v0",)
PICKUP = ("BabyAI-PickupLoc-v0",)
PRIMITIVES = ["turn left", "turn right", "move forward"]


def test_tile_labels_read_a_rendered_frame_back_to_the_grid():
    world = make_world("babyai", levels=GOTO)
    frame, _ = world.reset(seed=1_000_000)
    ids, labels, env = TileBook(tileset()).read(frame), tile_labels(), world.env
    assert len(labels) == len(tileset()) and labels[0] == (None, None, None)
    for y in range(env.grid.height):
        for x in range(env.grid.width):
            kind, color, heading = labels[ids[y, x]]
            obj = env.grid.get(x, y)
            assert (kind, color) == ((obj.type, obj.color) if obj else (None, None))
            assert heading == (env.agent_dir if (x, y) == tuple(env.agent_pos) else None)
    reader = FrameReader()
    assert reader.agent(reader.read(frame)) == (*env.agent_pos, env.agent_dir)


def test_parse_mission():
    assert parse_mission("go to a red ball") == ("go to", "red", "ball")
    assert parse_mission("pick up the blue box behind you") == ("pick up", "blue", "box")
    assert parse_mission("pick up a key") == ("pick up", None, "key")
    with pytest.raises(ValueError, match="not a BabyAI"):
        parse_mission("put the red ball next to the key")
    assert parse_put_next("put the red ball next to the key") == (("red", "ball"), (None, "key"))
    assert parse_put_next("put a box next to the grey ball") == ((None, "box"), ("grey", "ball"))
    assert parse_put_next("go to the red ball") is None


def test_cost_bounds_the_true_path_and_is_zero_exactly_on_success():
    world, scorer = make_world("babyai", levels=GOTO), MissionDistance()
    for seed in range(1_000_000, 1_000_006):
        frame, info = world.reset(seed=seed)
        _, color, kind = parse_mission(info["mission"])
        env = world.env
        targets = {
            (x, y)
            for x in range(env.grid.width)
            for y in range(env.grid.height)
            if (o := env.grid.get(x, y)) and o.type == kind and (color is None or o.color == color)
        }
        path = shortest_path(env, targets)
        costs = [scorer.costs(frame, info["mission"])]
        for a in path:
            chunk, r, terminated, _, _ = world.step(PRIMITIVES[a])
            costs.append(scorer.costs(chunk[-1], info["mission"]))
            assert (costs[-1] == 0) == terminated and (r > 0) == terminated
        # never more than the true number of actions left; every action changes the bound by at most one
        assert all(c <= len(path) - i for i, c in enumerate(costs)), (seed, costs, len(path))
        assert np.all(np.abs(np.diff(costs)) <= 1) and costs[-1] == 0


def _walk_and_pick_up(world, seed):
    """A PickupLoc episode walked along the true shortest path, then the pickup (the menu's last entry):
    (mission, start frame, frames from the start on, the menu at each frame, whether the world says done)."""
    frame, info = world.reset(seed=seed)
    env = world.env
    goal = {tuple(p) for p in env.instrs.desc.obj_poss}  # BabyAI's own targets (the location words included)
    frames, menus = [frame], [primitives({"frame": frame})]
    for a in shortest_path(env, goal):
        frames.append(world.step(PRIMITIVES[a])[0][-1])
        menus.append(primitives({"frame": frames[-1]}))
    chunk, r, terminated, _, _ = world.step(menus[-1][-1])
    return info["mission"], frame, np.stack([*frames, chunk[-1]]), menus, terminated


def test_pick_up_is_done_when_a_target_is_gone_and_the_menu_offers_it_only_in_front():
    world, scorer = make_world("babyai", levels=PICKUP), MissionDistance()
    for seed in range(1_000_000, 1_000_006):
        mission, start, frames, menus, terminated = _walk_and_pick_up(world, seed)
        costs = scorer.costs(frames, mission, start)
        assert all(m[:3] == PRIMITIVES and len(m) in (3, 4) for m in menus)
        # facing the target at the end: its pickup is on the menu
        assert len(menus[-1]) == 4 and menus[-1][-1].startswith("pick up the ")
        assert costs[-2] == 1 and costs[-1] == 0 and terminated  # facing the target; picked up
    with pytest.raises(ValueError, match="obs\\['frame'\\]"):
        primitives({})


def test_unreadable_frames_and_rollout_scores():
    world, scorer = make_world("babyai", levels=GOTO), MissionDistance(unreadable=50.0)
    frame, info = world.reset(seed=1_000_002)
    mission = info["mission"]
    blurred = frame // 2 + 60  # no cell clearly shows a tile
    two_agents = frame.copy()
    ax, ay = world.env.agent_pos
    ox = 1 if ax != 1 else 2  # a second agent drawn on another cell of the same row
    two_agents[ay * 8 : ay * 8 + 8, ox * 8 : ox * 8 + 8] = frame[ay * 8 : ay * 8 + 8, ax * 8 : ax * 8 + 8]
    assert scorer.costs(blurred, mission) == 50.0 and scorer.costs(two_agents, mission) == 50.0
    reader = FrameReader()
    for bad in (blurred, two_agents):  # cells read as no tile (-1) hold nothing, not the last tile
        assert reader.agent(reader.read(bad)) is None and reader.front(reader.read(bad)) is None
    # rows: three true steps forward, three unreadable frames, the same three steps again
    sim = OracleSimulator(make_world("babyai", levels=GOTO))
    sim.begin({"world_state": world.get_state()})
    c0 = float(scorer.costs(frame, mission))
    good = sim.simulate([["move forward"] * 3]).frames[0]
    frames = np.stack([good, np.stack([blurred] * 3), good])  # (3, 3, 64, 64, 3)
    ro = Rollouts(np.zeros((3, 3), np.float32), np.zeros((3, 3), bool), frames, None)
    scores = scorer(ro, mission)
    assert scores[0] == scores[2] and scores[1] == -50.0 and scores[0] > -c0
    with pytest.raises(ValueError, match="latent_only=False"):
        scorer(Rollouts(ro.rewards, ro.terminated, None, None), mission)


def test_mission_distance_oracle_cem_over_primitives_beats_random():
    seeds, levels = list(range(1_000_000, 1_000_012)), (*GOTO, *PICKUP)
    world = make_world("babyai", levels=levels)
    sim = OracleSimulator(make_world("babyai", levels=levels))
    cem = evaluate_planner(
        lambda s: WithMenu(MPC(CEMPlanner(sim, 3, 16, 2, 4, score_fn=MissionDistance(), seed=s)), primitives),
        world, seeds, max_steps=12, progress=False,
    )  # fmt: skip
    rand = evaluate_planner(
        lambda s: WithMenu(RandomAgent(seed=s), primitives), world, seeds, max_steps=12, progress=False
    )
    assert cem["success_rate"] >= 0.6 and cem["success_rate"] >= rand["success_rate"] + 0.4, (cem, rand)


def test_model_simulator_decodes_frames_for_the_scorer():
    world = make_world("babyai", levels=GOTO)
    frame, info = world.reset(seed=1_000_000)
    sim = ModelSimulator("tiny", "babyai", latent_only=False)
    sim.begin({"frame": frame, "mission": info["mission"]})
    scores = MissionDistance()(sim.simulate([["turn left", "move forward"]] * 2), info["mission"])
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_put_next_costs_fall_along_a_solution_and_reach_zero_exactly_on_success():
    """Greedy descent on the cost over the carry menu, in the true world: every action lowers the cost by one, the
    pickup and the drop are taken where the menu offers them, and 0 comes with the world's success."""
    world, scorer = make_world("babyai", levels=PUTNEXT), MissionDistance()
    sim = OracleSimulator(make_world("babyai", levels=PUTNEXT))
    for seed in range(1_000_000, 1_000_004):
        frame, info = world.reset(seed=seed)
        mission, start = info["mission"], frame
        costs, actions = [float(scorer.costs(frame, mission, start))], []
        while costs[-1] > 0 and len(actions) < 40:
            menu = carry({"frame": frame})
            sim.begin({"world_state": world.get_state()})
            after = scorer.costs(sim.simulate([[a] for a in menu]).frames[:, -1], mission, start)
            actions.append(menu[int(np.argmin(after))])
            chunk, r, terminated, _, _ = world.step(actions[-1])
            frame = chunk[-1]
            costs.append(float(scorer.costs(frame, mission, start)))
            assert (costs[-1] == 0) == terminated == (r > 0), (seed, actions, costs)
        assert costs[-1] == 0 and np.all(np.diff(costs) == -1), (seed, actions, costs)
        assert actions[-1] == "drop it" and sum(a.startswith("pick up") for a in actions) == 1


def test_put_next_with_another_object_in_hand_is_unreadable():
    world, scorer = make_world("babyai", levels=PUTNEXT), MissionDistance(unreadable=77.0)
    frame, info = world.reset(seed=1_000_000)
    (color, kind), fixed = parse_put_next(info["mission"])
    grid = world.env.grid
    other = next(
        (o.color, o.type)
        for o in grid.grid
        if o is not None
        and o.type in ("ball", "box", "key")
        and (o.color, o.type) not in ((color, kind), fixed)
    )
    chunk, *_ = world.step(f"pick up the {other[0]} {other[1]}")  # walks there and picks it up
    assert world.env.carrying is not None and scorer.costs(chunk[-1], info["mission"], frame) == 77.0


def test_oracle_pss_solves_put_next_over_the_carry_menu():
    seeds, world = list(range(1_000_000, 1_000_010)), make_world("babyai", levels=PUTNEXT)
    sim = OracleSimulator(make_world("babyai", levels=PUTNEXT))
    pss = evaluate_planner(
        lambda s: WithMenu(ProposeSimulateSelect(sim, k=5, scorer=MissionDistance(), seed=s), carry),
        world, seeds, max_steps=30, progress=False,
    )  # fmt: skip
    rand = evaluate_planner(
        lambda s: WithMenu(RandomAgent(seed=s), carry), world, seeds, max_steps=30, progress=False
    )
    assert pss["success_rate"] >= 0.9 and rand["success_rate"] <= 0.3, (pss, rand)
