"""Fidelity, step-wise and long-horizon scores of simulators with known answers: the true simulator scores
perfectly, simulators that ignore the action do not."""

import numpy as np
import pytest

from pan_gym.eval.fidelity import action_fidelity
from pan_gym.eval.horizon import long_horizon
from pan_gym.eval.simulators import CopySimulator, ModelSimulator, OracleSimulator
from pan_gym.eval.starts import eval_seeds, start_states
from pan_gym.eval.stepwise import stepwise
from pan_gym.worlds import make_world


class IgnoresActionOracle(OracleSimulator):
    """The true simulator, but always playing "turn left" whatever it is told."""

    name = "turn-left"

    def step(self, actions):
        return super().step(["turn left"] * len(actions))


@pytest.fixture(scope="module")
def world():
    return make_world("babyai")


@pytest.fixture(scope="module")
def starts(world):
    return start_states(world, eval_seeds(6))


@pytest.fixture(scope="module")
def oracle():
    return OracleSimulator("babyai")


@pytest.mark.parametrize("kind", ["agent", "environment"])
def test_oracle_fidelity_is_perfect(world, starts, oracle, kind):
    r = action_fidelity(world, oracle, starts, kind, progress=False)
    assert r["n_changed"] > 0
    assert r["fidelity"] == r["fidelity_all"] == r["tile_accuracy"] == 1.0 and r["copy_rate"] == 0.0


@pytest.mark.parametrize("kind", ["agent", "environment"])
def test_copy_scores_zero_on_changing_transitions(world, starts, kind):
    r = action_fidelity(world, CopySimulator(), starts, kind, progress=False)
    assert r["fidelity"] == 0.0 and r["copy_rate"] == 1.0
    assert r["tile_accuracy_changed"] > 0.9  # why cell accuracy alone misleads


def test_action_ignoring_simulator_is_not_perfect(world, starts):
    r = action_fidelity(world, IgnoresActionOracle("babyai"), starts, "agent", 3, progress=False)
    assert r["fidelity"] < 1.0


class PastSpy(CopySimulator):
    """The copy baseline, keeping each ``start`` call's frames and pasts."""

    def __init__(self):
        super().__init__()
        self.calls_seen = []

    def start(self, frames, world_states=None, missions=None, pasts=None):
        super().start(frames)
        self.calls_seen.append((frames, pasts))


def test_each_imagined_action_is_given_the_true_past_that_led_to_its_frame(world, starts):
    spy = PastSpy()
    action_fidelity(world, spy, starts, "agent", 4, progress=False)
    lengths = set()
    for frames, pasts in spy.calls_seen:
        assert len({len(p.steps) for p in pasts}) == 1
        for frame, p in zip(frames, pasts, strict=True):
            assert np.array_equal(p.steps[-1][1] if p.steps else p.first, frame)
            lengths.add(len(p.steps))
    assert len(lengths) > 1  # warm-ups and walks of several lengths
    for s in starts:  # a start's past replays from the reset to its frame
        first, _ = world.reset(seed=s.seed)
        assert np.array_equal(first, s.past.first)
        for action, frame in s.past.steps:
            assert np.array_equal(world.step(action)[0][-1], frame)


def test_tiny_model_fidelity_runs(world, starts, tiny_model):
    r = action_fidelity(world, ModelSimulator(tiny_model), starts[:3], "agent", progress=False)
    assert 0.0 <= r["fidelity"] < 1.0 and r["_examples"]["pred"].shape[1:] == (64, 64, 3)


def test_stepwise(world, starts, oracle, tiny_model):
    perfect = stepwise(world, oracle, starts, progress=False)
    assert perfect["n_items"] > 0
    assert perfect["train"]["accuracy"] == perfect["heldout"]["accuracy"] == 1.0
    kinds = perfect["train"]["by_kind"]
    assert kinds["agent"]["n"] > 0 and kinds["environment"]["n"] > 0  # both kinds are scored, each on its own
    assert kinds["agent"]["n"] + kinds["environment"]["n"] == perfect["n_items"]
    phrasings = perfect["heldout"]["by_phrasing"]
    assert sum(p["n"] for p in phrasings.values()) == perfect["n_items"]
    assert set(phrasings) <= {p for ps in world.paraphrases("heldout").values() for p in ps}
    held = {e["text"] for e in perfect["heldout"]["examples"]}
    assert held.isdisjoint(e["text"] for e in perfect["train"]["examples"])  # held-out phrasings differ
    assert stepwise(world, CopySimulator(), starts, progress=False)["train"]["accuracy"] < 1.0
    few = stepwise(world, oracle, starts[:3], progress=False)
    model = stepwise(world, ModelSimulator(tiny_model), starts[:3], progress=False)
    assert model["heldout"]["n"] == few["heldout"]["n"] > 0  # the model is scored on every item the oracle is
    assert 0.0 <= model["heldout"]["accuracy"] <= 1.0


def test_long_horizon(world, tiny_model):
    starts = start_states(world, eval_seeds(2, 10_000), max_warmup=0)
    r = long_horizon(world, OracleSimulator("babyai"), starts, 8, progress=False)
    assert r["n_per_step"] == [2] * 8 and r["tile_accuracy"] == [1.0] * 8 and r["psnr"] == [100.0] * 8
    assert r["grid_exact"] == [1.0] * 8
    assert r["consistency_tile_accuracy"]["ratio"] == 1.0 and r["smoothness"]["per_action"]["ratio"] == 1.0
    copy = long_horizon(world, CopySimulator(), starts, 8, progress=False)
    assert min(copy["tile_accuracy"]) < 1.0 and copy["smoothness"]["per_action"]["imagined"] == 0.0
    assert copy["grid_exact"][-1] < 1.0 and copy["grid_exact"][-1] <= min(copy["tile_accuracy"][-1:])
    model = long_horizon(world, ModelSimulator(tiny_model), starts, 4, batch_size=1, progress=False)
    assert model["speed"]["calls"] == 8 and model["speed"]["seconds_per_imagined_step"] > 0
    assert len(model["_examples"]["pred"]) == 4


def test_simulators_share_the_chunk_contract(starts, oracle, tiny_model):
    frames = np.stack([s.frame for s in starts[:2]])
    for im in (oracle, CopySimulator(), ModelSimulator(tiny_model)):
        im.start(frames, [s.state for s in starts[:2]])
        out = im.step(["turn left", "move forward"])
        assert out.frames.shape == (2, im.frames_per_action, 64, 64, 3) and out.frames.dtype == np.uint8
        assert out.rewards.shape == (2,) and out.terminated.dtype == bool


@pytest.mark.parametrize("walk", ["listing", "primitive"])
def test_every_walk_step_changes_the_frame(world, walk):
    from pan_gym.eval import metrics as M
    from pan_gym.eval.fidelity import world_tile
    from pan_gym.eval.horizon import true_rollout

    tile, kinds, templates = world_tile(world), set(), set()
    for s in start_states(world, eval_seeds(6, 10_000), max_warmup=0):
        actions, chunks = true_rollout(world, s, 20, 0, walk)
        finals = np.concatenate([s.frame[None], chunks[:, -1]])  # (L + 1, H, W, 3)
        assert M.changed(finals[:-1], finals[1:], tile).all()  # copying the last frame is wrong at every step
        for a in actions:
            kinds.add(world.phrasebook.parse(a).template.kind)
            templates.add(world.action_template(a))
    if walk == "listing":  # the whole listing: events and multi-cell agent actions, not just single steps
        assert kinds == {"agent", "environment"} and "go to the {color} {obj}" in templates
        assert len(templates) >= 8
    else:
        assert templates == {"move forward", "turn {side}"}


def test_copy_is_wrong_after_the_first_step_of_a_walk(world):
    starts = start_states(world, eval_seeds(4, 10_000), max_warmup=0)
    copy = long_horizon(world, CopySimulator(), starts, 6, progress=False)
    assert copy["walk"] == "listing" and copy["grid_exact"][0] == 0.0 and copy["unchanged_steps"] == 0
    assert copy["grid_exact_count"][0] == [0, 4] and all(n == 4 for _, n in copy["grid_exact_count"])


def test_unknown_walk_is_refused(world, starts):
    from pan_gym.eval.horizon import true_rollout

    with pytest.raises(ValueError, match="unknown walk"):
        true_rollout(world, starts[0], 3, 0, "diagonal")


def test_per_template_fidelity_has_intervals(world, starts, oracle):
    r = action_fidelity(world, oracle, starts, "environment", 4, progress=False)
    rows = r["per_template"]
    assert len(rows) >= 3 and sum(t["n"] for t in rows.values()) == r["n_changed"]
    for t in rows.values():
        assert t["shown"] == t["n"] and t["copy_rate"] == 0.0
        lo, hi = t["interval"]
        assert lo < 1.0 == hi  # a perfect score on a few items still has a wide interval below it


def test_a_walk_keeps_a_step_that_no_draw_can_change():
    """CartPole's first push moves the cart less than a pixel: the walk goes on, and says so."""
    cartpole = make_world("gym:CartPole-v1", actions=["push left", "push right"])
    starts = start_states(cartpole, eval_seeds(2, 10_000), max_warmup=0)
    r = long_horizon(cartpole, CopySimulator(), starts, 4, progress=False)
    assert (
        r["n_per_step"] == [2] * 4 and 2 <= r["unchanged_steps"] < 8
    )  # the first step of each rollout, at least


def test_fidelity_walks_a_start_on_until_a_drawn_template_is_on_offer(world, oracle):
    """Templates that need a door or a carried object are drawn as often as the rest: a start that does not offer
    one is walked on with listing actions until it does."""
    starts = start_states(world, eval_seeds(24))
    agent = action_fidelity(world, oracle, starts, "agent", 4, progress=False)
    events = action_fidelity(world, oracle, starts, "environment", 4, progress=False)
    assert {"drop it", "open the {color} door"} <= set(agent["per_template"])
    assert "the {color} door opens" in events["per_template"]
    assert agent["fidelity"] == events["fidelity"] == 1.0  # the oracle replays the walked-on state
    assert agent["n"] <= 4 * len(starts) and agent["unreached"] <= agent["n"]
