"""The BabyAI expert: MiniGrid's ``BabyAIBot`` solving the mission, its moves expressed as language actions.

Each call returns one canonical action. Usually it is the bot's next primitive move ("turn left", "move forward",
"pick up the red ball" when facing it, "drop it", "toggle the blue door"); with probability ``macro_prob`` it is a
whole sub-task when the words name exactly the mission's objects ("go to the red ball" / "pick up the red ball");
with probability ``event_prob`` an environment event that leaves the mission's objects alone.

The bot sees the whole room (its visibility mask is all true, like the rendered frame). It persists across steps
only while the world executes exactly its suggestion; any other action, an event, ``set_state`` or ``reset``
rebuilds it from the current state. When the bot fails (e.g. the mission became impossible) the expert drops what
it carries or makes a random move.

Example:
    >>> import numpy as np
    >>> from pan_gym.worlds.babyai import BabyAIWorld
    >>> world, rng = BabyAIWorld(), np.random.default_rng(0)
    >>> _ = world.reset(seed=3)
    >>> for _ in range(30):
    ...     _, reward, terminated, truncated, _ = world.step(world.expert_action(rng))
    ...     if terminated or truncated:
    ...         break
    >>> terminated and reward > 0
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from minigrid.envs.babyai.core.verifier import (
    AfterInstr,
    AndInstr,
    BeforeInstr,
    GoToInstr,
    PickupInstr,
    PutNextInstr,
)
from minigrid.utils.baby_ai_bot import BabyAIBot

from pan_gym.worlds.babyai_grid import DROP, FORWARD, LEFT, PICKUP, RIGHT, TOGGLE

if TYPE_CHECKING:
    from pan_gym.worlds.babyai import BabyAIWorld


def _leaves(instr: Any) -> list[Any]:
    """The action instructions of a (possibly composed) BabyAI instruction."""
    if isinstance(instr, (BeforeInstr, AndInstr, AfterInstr)):
        return _leaves(instr.instr_a) + _leaves(instr.instr_b)
    return [instr]


def _descs(instr: Any) -> list[Any]:
    return [getattr(instr, a) for a in ("desc", "desc_move", "desc_fixed") if hasattr(instr, a)]


class BotStuck(RuntimeError):
    """The bot kept replanning without settling on an action (it can loop forever in some states)."""


class _FullViewBot(BabyAIBot):
    """The bot with the whole room in view (like the rendered frame), so it skips parsing partial observations,
    and with a search budget per decision so that its rare endless replanning loops raise ``BotStuck``."""

    max_searches = 200  # breadth-first searches per decision (a normal decision needs a handful)

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.vis_mask[:] = True
        self._searches = 0

    def _process_obs(self) -> None:
        pass

    def replan(self, action_taken: int | None = None) -> int:
        self._searches = 0
        return super().replan(action_taken)

    def _breadth_first_search(self, *args: Any, **kwargs: Any) -> Any:
        self._searches += 1
        if self._searches > self.max_searches:
            raise BotStuck("the BabyAI bot did not settle on an action")
        return super()._breadth_first_search(*args, **kwargs)


def _new_bot(world: BabyAIWorld) -> BabyAIBot:
    """A bot planning from the current state, with full view of the room."""
    env = world.env
    bot = _FullViewBot(env)
    instr = env.instrs
    if isinstance(instr, PutNextInstr) and any(env.carrying is o for o in instr.desc_move.obj_set):
        del bot.stack[-2:]  # already holding the object to move: skip "go to it" and "pick it up"
    return bot


def _exact_target(world: BabyAIWorld, desc: Any) -> str | None:
    """``"color type"`` when those words name exactly the objects the mission tracks (so a macro is faithful)."""
    env = world.env
    on_grid = [o for o in desc.obj_set if o.cur_pos is not None and env.grid.get(*o.cur_pos) is o]
    if not on_grid:
        return None
    color, typ = on_grid[0].color, on_grid[0].type
    tracked = {tuple(o.cur_pos) for o in on_grid}
    return f"{color} {typ}" if set(world._find(color, typ)) <= tracked else None


def _macro(world: BabyAIWorld) -> str | None:
    instr = world.env.instrs
    if world.env.carrying is not None:
        return None
    if isinstance(instr, GoToInstr) and instr.desc.type != "door":
        target = _exact_target(world, instr.desc)
        return f"go to the {target}" if target else None
    if isinstance(instr, PickupInstr):
        target = _exact_target(world, instr.desc)
        return f"pick up the {target}" if target else None
    if isinstance(instr, PutNextInstr):
        target = _exact_target(world, instr.desc_move)
        return f"pick up the {target}" if target else None
    return None


def _event(world: BabyAIWorld, rng: np.random.Generator) -> str | None:
    """An environment event that does not remove or recolour an object the mission names."""
    tracked = {f"{o.color} {o.type}" for i in _leaves(world.env.instrs) for d in _descs(i) for o in d.obj_set}
    events = [e for e in world.actions("environment") if not any(e.startswith(f"the {t} ") for t in tracked)]
    return events[int(rng.integers(len(events)))] if events else None


def _translate(world: BabyAIWorld, action: int) -> str | None:
    """A primitive action as the language action that executes exactly it, or None."""
    env = world.env
    if action in (LEFT, RIGHT):
        return "turn left" if action == LEFT else "turn right"
    if action == FORWARD:
        return "move forward"
    if action == DROP:
        return "drop it"
    front = env.grid.get(*env.front_pos)
    if action == PICKUP and front is not None and front.type in ("ball", "box", "key"):
        return f"pick up the {front.color} {front.type}"
    if action == TOGGLE and front is not None and front.type == "door":
        return f"toggle the {front.color} door"
    return None


def expert_action(
    world: BabyAIWorld, rng: np.random.Generator, macro_prob: float = 0.3, event_prob: float = 0.0
) -> str:
    """The expert's next canonical action in ``world`` (see the module docstring)."""
    if event_prob > 0 and rng.random() < event_prob:
        event = _event(world, rng)
        if event is not None:
            return event
    if macro_prob > 0 and rng.random() < macro_prob:
        macro = _macro(world)
        if macro is not None:
            return macro
    try:
        if world.bot is None:
            world.bot = _new_bot(world)
        text = _translate(world, world.bot.replan())
    except Exception:  # the bot gives up on missions made impossible (or inconsistent) by events
        text = None
    if text is None:
        world.bot = None
        if world.env.carrying is not None:
            return "drop it"
        return ("turn left", "turn right", "move forward")[int(rng.integers(3))]
    world.bot_expects = text
    return text
