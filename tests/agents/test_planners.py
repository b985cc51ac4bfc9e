"""The planning code: scores, CEM and PSS on a synthetic simulator, the oracle beating random on real BabyAI
missions, and the model planners running with the tiny random model."""

import numpy as np
import pytest

from agents.cem import CEMPlanner
from agents.mpc import MPC, observe, run_episode
from agents.propose_simulate_select import MissionProposer, ProposeSimulateSelect, RandomProposer
from agents.random_agent import RandomAgent
from agents.simulators import ModelSimulator, OracleSimulator, Rollouts, returns
from pan_gym.eval.planning_eval import evaluate_planner
from pan_gym.worlds import make_world

SEEDS = list(range(1_000_000, 1_000_012))
LEVELS = ("BabyAI-GoToLocal-v0", "BabyAI-PickupLoc-v0")


class CodeSimulator:
    """Synthetic: the sequence ['b', 'c', …] earns 1 at step 2 (then terminates); 'b' alone earns 0.1."""

    name = "code"

    def __init__(self):
        self.batches = []

    def begin(self, obs):
        self.obs = obs

    def simulate(self, sequences):
        n, h = len(sequences), len(sequences[0])
        self.batches.append(n)
        r, done = np.zeros((n, h), np.float32), np.zeros((n, h), bool)
        for i, s in enumerate(sequences):
            if s[0] == "b":
                r[i, 0] = 0.1
                if h > 1 and s[1] == "c":
                    r[i, 1], done[i, 1] = 1.0, True
        return Rollouts(r, done, None, None)


def test_returns_stop_at_the_first_termination():
    r = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 0]], np.float32)
    done = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]], bool)
    np.testing.assert_allclose(returns(Rollouts(r, done, None, None), gamma=0.5), [1.0, 0.5, 0.0])


def test_cem_finds_the_two_step_plan_in_one_batch_per_iteration():
    sim = CodeSimulator()
    cem = CEMPlanner(sim, horizon=2, samples=32, iterations=3, elites=4, menu=list("abcd"), seed=1)
    assert cem.plan({"mission": ""}) == ["b", "c"]
    assert sim.batches == [32, 32, 32]  # every candidate of an iteration simulated together
    assert cem.last["probs"][0].argmax() == 1


def test_mpc_warm_starts_with_the_rest_of_the_plan():
    seen = []

    class Recorder(CEMPlanner):
        def plan(self, obs, init=None):
            seen.append(init)
            return super().plan(obs, init)

    mpc = MPC(Recorder(CodeSimulator(), horizon=2, samples=32, iterations=2, elites=4, menu=list("abcd")))
    assert mpc.act({}) == "b" and mpc.act({}) in list("abcd")
    assert seen == [[], ["c"]]


def test_pss_best_of_n_and_proposers():
    obs = {
        "mission": "go to the red ball",
        "actions": ["turn left", "go to the blue ball", "go to the red ball"],
    }
    assert MissionProposer()(obs, 2) == ["go to the red ball", "go to the blue ball"]
    assert sorted(RandomProposer(0)(obs, 3)) == sorted(obs["actions"])

    class Noisy:  # sample j of every candidate scores j; candidate 'b' gets +10 on its last sample only
        name = "noisy"

        def begin(self, obs):
            pass

        def simulate(self, seqs):
            r = np.array(
                [[10.0 * (s[0] == "b") * (i % 3 == 2) + i % 3] for i, s in enumerate(seqs)], np.float32
            )
            return Rollouts(r, np.zeros_like(r, bool), None, None)

    pss = ProposeSimulateSelect(Noisy(), proposer=lambda o, k: ["a", "b"][:k], k=2, n=3)
    assert pss.act({}) == "b" and pss.last["scores"] == [2.0, 12.0]


class Delayed:
    """Synthetic: 'a' earns 0.5 at once and ends; 'b' earns nothing, then 'c' after it earns 1 (and ends)."""

    name = "delayed"

    def __init__(self):
        self.batches = []

    def begin(self, obs):
        pass

    def simulate(self, seqs):
        h = len(seqs[0])
        self.batches.append([tuple(s) for s in seqs])
        r, done = np.zeros((len(seqs), h), np.float32), np.zeros((len(seqs), h), bool)
        for i, s in enumerate(seqs):
            if s[0] == "a":
                r[i, 0], done[i, 0] = 0.5, True
            elif h > 1 and s[:2] == ["b", "c"]:
                r[i, 1], done[i, 1] = 1.0, True
        return Rollouts(r, done, None, None)


def test_pss_lookahead_finds_the_delayed_reward():
    plans = []

    def propose(obs, k):
        plans.append(obs.get("plan", []))
        return ["a", "b", "c"][:k]

    assert ProposeSimulateSelect(Delayed(), propose, k=3).act({}) == "a"  # one step: the immediate 0.5
    sim = Delayed()
    pss = ProposeSimulateSelect(sim, propose, k=3, depth=2, beam=2)
    assert pss.act({}) == "b" and pss.last["plan"] == ["b", "c"]
    assert pss.last["values"] == pytest.approx(
        [0.5, 0.99, 0.0]
    )  # each first action: its best sequence's return
    # depth 2 extends the beam's two best open sequences ('b', 'c'; 'a' terminated), proposing after each
    assert sim.batches[1] == [("b", "a"), ("b", "b"), ("b", "c"), ("c", "a"), ("c", "b"), ("c", "c")]
    assert plans[-2:] == [["b"], ["c"]]
    with pytest.raises(ValueError, match="depth"):
        ProposeSimulateSelect(sim, depth=0)


@pytest.mark.slow
def test_oracle_lookahead_solves_what_one_step_cannot():
    """GoTo missions over one-cell moves: one step ahead sees a success only when it is one move away."""
    from agents.menus import WithMenu, primitives

    world = make_world("babyai", levels=("BabyAI-GoToObj-v0",))
    sim = OracleSimulator(make_world("babyai", levels=("BabyAI-GoToObj-v0",)))

    def rate(depth, beam=None):
        make = lambda s: WithMenu(ProposeSimulateSelect(sim, k=4, depth=depth, beam=beam, seed=s), primitives)  # noqa: E731
        return evaluate_planner(make, world, SEEDS[:8], max_steps=8, progress=False)["success_rate"]

    one, four = (
        rate(1),
        rate(4, beam=27),
    )  # four moves ahead, every sequence kept: a success four moves away is found
    assert four >= 0.6 and four >= one + 0.4, (one, four)


def test_oracle_simulator_does_not_touch_the_real_world():
    world = make_world("babyai")
    frame, info = world.reset(seed=1_000_002)
    before = world.get_state()
    sim = OracleSimulator("babyai")
    sim.begin(observe(world, frame, info["mission"]))
    ro = sim.simulate([["turn left", "go to the green box"], ["go to the green box", "turn left"]])
    assert ro.terminated.tolist() == [[False, True], [True, False]] and (ro.rewards[:, 0] >= 0).all()
    assert (world.step("turn left")[0] == _step_from(before, "turn left")).all()


def _step_from(state, action):
    w = make_world("babyai")
    w.set_state(state)
    return w.step(action)[0]


@pytest.mark.slow
def test_oracle_planners_clearly_beat_random():
    world = make_world("babyai", levels=LEVELS)
    sim = OracleSimulator(make_world("babyai", levels=LEVELS))
    rand = evaluate_planner(lambda s: RandomAgent(seed=s), world, SEEDS, max_steps=3, progress=False)
    cem = evaluate_planner(
        lambda s: MPC(CEMPlanner(sim, horizon=2, samples=24, iterations=2, elites=4, seed=s)),
        world, SEEDS, max_steps=3, progress=False,
    )  # fmt: skip
    pss = evaluate_planner(
        lambda s: ProposeSimulateSelect(sim, seed=s), world, SEEDS, max_steps=3, progress=False
    )
    pss_rand = evaluate_planner(
        lambda s: ProposeSimulateSelect(sim, RandomProposer(s), k=5, seed=s), world, SEEDS, max_steps=3,
        progress=False,
    )  # fmt: skip
    assert rand["success_rate"] <= 0.5
    for r in (cem, pss):
        assert r["success_rate"] >= 0.9 and r["success_rate"] >= rand["success_rate"] + 0.4, (r, rand)
    assert pss_rand["success_rate"] > rand["success_rate"], (pss_rand, rand)  # selection alone helps


def test_model_planners_run_and_return_valid_actions():
    world = make_world("babyai")
    frame, info = world.reset(seed=1_000_000)
    obs = observe(world, frame, info["mission"])
    sim = ModelSimulator("tiny", "babyai", latent_only=True)
    sim.begin(obs)
    ro = sim.simulate([["turn left", "move forward"]] * 5)
    assert ro.rewards.shape == (5, 2) and ro.states.shape[:2] == (5, 2) and ro.frames is None
    assert np.isfinite(ro.rewards).all()
    cem = CEMPlanner(sim, horizon=2, samples=6, iterations=1, elites=2)
    assert cem.act(obs) in obs["actions"]
    decoded = ModelSimulator("tiny", "babyai", latent_only=False)
    pss = ProposeSimulateSelect(decoded, k=3, n=2)
    assert pss.act(obs) in obs["actions"] and len(pss.last["scores"]) == 3
    ep = run_episode(MPC(cem), world, 1_000_001, max_steps=2, record=True)
    assert 1 <= ep["steps"] <= 2 and ep["frames"].shape[1:] == (64, 64, 3)


def test_model_simulator_goal_reward():
    world = make_world("babyai")
    frame, info = world.reset(seed=1_000_000)
    sim = ModelSimulator("tiny", "babyai", reward="goal", goal=frame)
    sim.begin(observe(world, frame, info["mission"]))
    ro = sim.simulate([["turn left"], ["turn right"]])
    assert (ro.rewards <= 0).all()
    with pytest.raises(ValueError, match="goal"):
        ModelSimulator("tiny", reward="goal")
