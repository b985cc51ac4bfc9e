"""``pan-gym plan``: a planner in the real world — success rate, mean steps and seconds per decision.

Planners: ``random`` (uniform valid action), ``cem`` / ``pss`` (CEM or propose–simulate–select with the world
model), ``oracle-cem`` / ``oracle-pss`` (the same planners with the true simulator as their model). Episodes run on
evaluation seeds (disjoint from training, checked) through ``pan_gym.eval.planning_eval.evaluate_planner``; for
BabyAI the default levels are the GoTo and PickUp ones, for Meta-World the tasks reach, push, button press and drawer
open.

Goal-image planning (``--scorer goal-image``, V-JEPA 2-AC's protocol): each episode's goal is a frame of the task done,
found by ``pan_gym.eval.goals.search_goal`` in the true world over the planner's menu (seeds where none is found are
skipped, the same for every planner); planners score imagined frames by their distance to it in the model's encoding
(``agents.goal_image.GoalImage``), never the world's reward.

Example:
    pan-gym plan --world babyai --planner oracle-cem --seeds 1000000:1000010 --json
    pan-gym plan --planner cem --model tiny --seeds 1000000:1000002 --samples 16
    pan-gym plan --world metaworld --menu motions --scorer goal-image --levels reach-v3 --max-steps 10 --json
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from pan_gym.cli_errors import exit_on
from pan_gym.worlds import ACTIONS_HELP, configure_world

PLANNERS = ("random", "cem", "pss", "oracle-cem", "oracle-pss")
GOTO_PICKUP = "BabyAI-GoToLocal-v0,BabyAI-PickupLoc-v0"
GOAL_TASKS = "reach-v3,push-v3,button-press-topdown-v3,drawer-open-v3"
DEFAULT_LEVELS = {"babyai": GOTO_PICKUP, "metaworld": GOAL_TASKS}
SCORERS = ("reward", "mission-distance", "goal-image")


def parse_seeds(text: str) -> list[int]:
    """``"A:B"`` -> [A, …, B-1]; ``"A"`` -> [A]."""
    try:
        if ":" in text:
            a, b = (int(x) for x in text.split(":"))
            seeds = list(range(a, b))
        else:
            seeds = [int(text)]
    except ValueError:
        raise typer.BadParameter(f"--seeds must be A:B (integers), got {text!r}") from None
    if not seeds:
        raise typer.BadParameter(f"--seeds {text!r} is empty")
    return seeds


def make_world_for(world: str, levels: str = ""):
    """The world, with ``levels`` (comma-separated BabyAI levels or Meta-World tasks; "" = the planning default)."""
    from pan_gym.worlds import world_with_levels

    return world_with_levels(world, levels or DEFAULT_LEVELS.get(world, ""))


def goal_finder(menu: str):
    """``world -> Goal | None`` for ``evaluate_planner``: a frame of the task done, reached over ``menu`` (the
    world's agent actions at the start for ``valid``; a menu that reads the frame, ``primitives``, has none here)."""
    from agents.menus import MENUS
    from pan_gym.eval.goals import search_goal

    chosen = MENUS[menu]

    def find(world):
        actions = world.actions("agent")
        return search_goal(world, actions if chosen is None else chosen({"actions": actions}))

    return find


def build_planner_factory(
    planner: str,
    world: str = "babyai",
    model: str | None = None,
    levels: str = "",
    horizon: int = 3,
    samples: int = 64,
    iterations: int = 3,
    elites: int = 8,
    k: int = 3,
    n: int = 1,
    proposer: str = "mission",
    latent_only: bool = True,
    precision: str = "fp32",
    menu: str = "valid",
    scorer: str = "reward",
    depth: int = 1,
    beam: int | None = None,
):
    """``seed -> planner`` for ``evaluate_planner``; the simulator is built once and shared by the episodes.

    ``scorer="mission-distance"`` scores imagined frames with ``agents.scorers.MissionDistance``, ``"goal-image"``
    with ``agents.goal_image.GoalImage`` (the model then decodes frames whatever ``latent_only`` says; the episodes
    need goals: ``goal_finder``); ``menu`` names an ``agents.menus.MENUS`` entry ("valid": the
    world's listing; "primitives": turns, forward, pickup of what is in front). ``depth``/``beam``: PSS's lookahead
    (``ProposeSimulateSelect``)."""
    from agents.cem import CEMPlanner
    from agents.goal_image import GoalImage
    from agents.menus import MENUS, WithMenu
    from agents.mpc import MPC
    from agents.propose_simulate_select import MissionProposer, ProposeSimulateSelect, RandomProposer
    from agents.random_agent import RandomAgent
    from agents.scorers import MissionDistance
    from agents.simulators import ModelSimulator, OracleSimulator
    from pan_gym.env.models import resolve_model

    if planner not in PLANNERS:
        raise ValueError(f"unknown planner {planner!r}; choose from {PLANNERS}")
    if menu not in MENUS:
        raise ValueError(f"unknown menu {menu!r}; choose from {tuple(MENUS)}")
    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}; choose from {SCORERS}")
    chosen = MENUS[menu]

    def with_menu(make):  # seed -> planner, choosing from the menu when one is set
        return make if chosen is None else (lambda seed: WithMenu(make(seed), chosen))

    if planner == "random":
        return with_menu(lambda seed: RandomAgent(seed=seed))
    score_fn: Any = MissionDistance() if scorer == "mission-distance" else None
    reads_frames = scorer != "reward"
    if planner.startswith("oracle-"):
        # its own world instance: the real one the agent acts in stays untouched
        sim: Any = OracleSimulator(make_world_for(world, levels))
    else:
        sim = ModelSimulator(model, world, latent_only=latent_only and not reads_frames, precision=precision)
    if scorer == "goal-image":  # the oracle measures with the same encoder as the model
        score_fn = GoalImage(sim.model if isinstance(sim, ModelSimulator) else resolve_model(model, world))
    if planner.endswith("cem"):
        return with_menu(
            lambda seed: MPC(
                CEMPlanner(sim, horizon, samples, iterations, elites, score_fn=score_fn, seed=seed)
            )
        )
    prop = (lambda seed: MissionProposer()) if proposer == "mission" else (lambda seed: RandomProposer(seed))
    return with_menu(
        lambda seed: ProposeSimulateSelect(
            sim, prop(seed), k=k, n=n, scorer=score_fn, seed=seed, depth=depth, beam=beam
        )
    )


def register(app: Any) -> None:
    """Add the ``plan`` command to the typer app."""

    @app.command("plan")
    def plan_command(
        world: Annotated[
            str, typer.Option(help="World name (babyai, metaworld, gym:<Gymnasium id>).")
        ] = "babyai",
        actions: Annotated[str | None, typer.Option(help=ACTIONS_HELP)] = None,
        planner: Annotated[str, typer.Option(help="random | cem | pss | oracle-cem | oracle-pss")] = "cem",
        seeds: Annotated[
            str, typer.Option(help="Evaluation seeds A:B (B excluded; never training seeds < 1,000,000).")
        ] = "1000000:1000020",
        model: Annotated[
            str,
            typer.Option(
                help="default (the shipped model), a preset (tiny, small: random weights) or a dir."
            ),
        ] = "default",
        max_steps: Annotated[int, typer.Option(help="Real-world actions per episode at most (PAN: 5).")] = 5,
        levels: Annotated[
            str,
            typer.Option(
                help="BabyAI levels or Meta-World tasks, comma-separated (default: BabyAI's GoTo and PickUp "
                "levels; Meta-World's reach, push, button press and drawer open)."
            ),
        ] = "",
        horizon: Annotated[int, typer.Option(help="CEM: actions per candidate sequence.")] = 3,
        samples: Annotated[int, typer.Option(help="CEM: candidate sequences per iteration.")] = 64,
        iterations: Annotated[int, typer.Option(help="CEM: iterations per decision.")] = 3,
        elites: Annotated[int, typer.Option(help="CEM: elites refitting the distribution.")] = 8,
        k: Annotated[int, typer.Option(help="PSS: candidate actions proposed per step.")] = 3,
        n: Annotated[int, typer.Option(help="PSS: simulations per candidate (best of n).")] = 1,
        depth: Annotated[int, typer.Option(help="PSS: actions looked ahead (beam search; 1: one step).")] = 1,
        beam: Annotated[
            int | None, typer.Option(help="PSS: sequences extended at each lookahead depth (default k).")
        ] = None,
        proposer: Annotated[
            str, typer.Option(help="PSS proposer: mission (ranked by mission text) | random")
        ] = "mission",
        latent_only: Annotated[
            bool, typer.Option(help="Model planners: step the backbone only (the reward head reads ŝ).")
        ] = True,
        precision: Annotated[
            str,
            typer.Option(
                help="Model planners: fp32 | bf16 (autocast) | bf16-weights (the model cast to bf16; fastest)."
            ),
        ] = "fp32",
        menu: Annotated[
            str,
            typer.Option(
                help="valid (the actions the world lists at each step) | primitives (BabyAI: turns, forward, "
                "the pickup of what the agent faces) | carry (primitives and 'drop it': BabyAI PutNext) | "
                "motions (Meta-World: the gripper's moves, open, close)."
            ),
        ] = "valid",
        scorer: Annotated[
            str,
            typer.Option(
                help="reward (the model's reward head / the world's reward) | mission-distance (BabyAI: reads "
                "the imagined frames, actions left to face the mission's object) | goal-image (distance of the "
                "imagined frames to a goal image of the task done, in the model's encoding). The last two decode."
            ),
        ] = "reward",
        threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = False,
    ) -> None:
        """Plan toward each episode's mission in the real world; print success rate, mean steps, s/decision."""
        import torch

        torch.set_num_threads(threads)
        from pan_gym.eval.planning_eval import evaluate_planner

        if proposer not in ("mission", "random"):
            raise typer.BadParameter(f"--proposer must be mission or random, got {proposer!r}")
        if planner not in PLANNERS:
            raise typer.BadParameter(f"--planner must be one of {', '.join(PLANNERS)}, got {planner!r}")
        with exit_on(ValueError):
            configure_world(world, actions)
        seed_list = parse_seeds(seeds)
        with exit_on(RuntimeError, OSError, ValueError):
            factory = build_planner_factory(
                planner,
                world,
                None if model == "default" else model,
                levels,
                horizon,
                samples,
                iterations,
                elites,
                k,
                n,
                proposer,
                latent_only,
                precision,
                menu,
                scorer,
                depth,
                beam,
            )
            real_world = make_world_for(world, levels)
            goals = goal_finder(menu) if scorer == "goal-image" else None
            result = evaluate_planner(
                factory, real_world, seed_list, max_steps=max_steps, progress=progress, goal_fn=goals
            )
        result = {
            "world": world,
            "planner": planner,
            "model": model if planner in ("cem", "pss") else None,  # oracles and random use no model
            "menu": menu,
            "scorer": scorer,
            **result,
        }
        result.pop("seeds")
        result["seeds"] = seeds
        if as_json:
            typer.echo(json.dumps(result))
        else:
            skipped = f", {len(result['skipped'])} seeds without a goal skipped" if result["skipped"] else ""
            if not result["n"]:
                typer.echo(f"{planner} on {world}: no episode ran{skipped}")
                return
            lo, hi = result["success_interval"]
            typer.echo(
                f"{planner} on {world} ({result['n']} episodes, ≤{max_steps} steps{skipped}): "
                f"success {result['success_rate']:.1%} [{lo:.1%}, {hi:.1%}], mean steps {result['mean_steps']:.2f}, "
                f"{result['seconds_per_decision']:.3f} s/decision"
            )
