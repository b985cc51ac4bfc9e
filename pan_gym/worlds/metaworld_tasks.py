"""The Meta-World world's language: task instructions, gripper motions, object nudges and their paraphrases.

Pure data and string templates, no MuJoCo: importable without a renderer.

Canonical action texts (the first train phrasing of each):
- task instructions, one per Meta-World task: "push the puck to the goal", "open the drawer", ...
- gripper motions: "move the gripper left" (right, forward, back, up, down), "open the gripper", "close the gripper".
  Directions are in the robot's frame: forward is away from the robot's base, left is the robot's left.
- environment events: "the puck is nudged left", "the drawer is nudged open", ... (one object per task).

Example:
    >>> from pan_gym.worlds.metaworld_tasks import TASKS, phrasings
    >>> TASKS["drawer-open-v3"].mission
    'open the drawer'
    >>> phrasings("move the gripper left", "train")[:2]
    ['move the gripper left', 'move the hand left']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pan_gym.worlds.base import Split


@dataclass(frozen=True)
class TaskSpec:
    """One Meta-World task behind a language instruction."""

    env_name: str  # key in metaworld.env_dict.ALL_V3_ENVIRONMENTS and metaworld.policies.ENV_POLICY_MAP
    mission: str  # canonical instruction (first train phrasing)
    train: tuple[str, ...]  # further train phrasings of the instruction
    heldout: tuple[str, ...]  # held-out phrasings of the instruction
    obj: str  # the object that environment events nudge, in words
    joint: str  # its MuJoCo joint: a free joint (moved in x/y) or a slide/hinge joint (moved along its axis)
    nudges: dict[str, float] = field(default_factory=dict)  # slide/hinge: direction word -> qpos offset


# Offsets of a free-joint object's nudge, in metres in the world frame (robot's frame: +y is forward, +x right).
FREE_NUDGES: dict[str, tuple[float, float]] = {
    "left": (-0.05, 0.0),
    "right": (0.05, 0.0),
    "forward": (0.0, 0.05),
    "back": (0.0, -0.05),
}

TASKS: dict[str, TaskSpec] = {
    t.env_name: t
    for t in (
        TaskSpec(
            "reach-v3",
            "reach the goal",
            ("reach the goal with the gripper", "move the gripper to the goal"),
            ("bring the hand to the target", "touch the target position", "get the gripper to the target"),
            "puck",
            "objjoint",
        ),
        TaskSpec(
            "push-v3",
            "push the puck to the goal",
            ("push the puck onto the goal", "slide the puck to the goal"),
            (
                "shove the puck to the target",
                "move the puck over to the target",
                "nudge the puck to the target",
            ),
            "puck",
            "objjoint",
        ),
        TaskSpec(
            "pick-place-v3",
            "pick up the puck and place it at the goal",
            ("pick the puck up and put it at the goal", "grasp the puck and place it on the goal"),
            (
                "lift the puck and set it down at the target",
                "carry the puck to the target",
                "grab the puck and put it on the target",
            ),
            "puck",
            "objjoint",
        ),
        TaskSpec(
            "drawer-open-v3",
            "open the drawer",
            ("pull the drawer open", "pull out the drawer"),
            ("slide the drawer open", "draw the drawer out", "get the drawer open"),
            "drawer",
            "goal_slidey",
            {"open": -0.05, "shut": 0.05},
        ),
        TaskSpec(
            "drawer-close-v3",
            "close the drawer",
            ("push the drawer closed", "push the drawer in"),
            ("slide the drawer shut", "shut the drawer", "get the drawer closed"),
            "drawer",
            "goal_slidey",
            {"open": -0.05, "shut": 0.05},
        ),
        TaskSpec(
            "button-press-topdown-v3",
            "press the button",
            ("push the button", "press the button down"),
            ("push down on the button", "hit the button", "press down the button from above"),
            "button",
            "btnbox_joint",
            {"in": -0.03},
        ),
        TaskSpec(
            "door-open-v3",
            "open the door",
            ("pull the door open", "swing the door open"),
            ("get the door open", "open up the door", "pull open the door"),
            "door",
            "doorjoint",
            {"open": -0.3, "shut": 0.3},
        ),
        TaskSpec(
            "door-close-v3",
            "close the door",
            ("push the door closed", "swing the door shut"),
            ("shut the door", "get the door closed", "push the door shut"),
            "door",
            "doorjoint",
            {"open": -0.3, "shut": 0.3},
        ),
        TaskSpec(
            "window-open-v3",
            "open the window",
            ("slide the window open", "push the window open"),
            ("get the window open", "open up the window", "slide open the window"),
            "window",
            "window_slide",
            {"open": 0.05, "shut": -0.05},
        ),
        TaskSpec(
            "window-close-v3",
            "close the window",
            ("slide the window closed", "push the window closed"),
            ("shut the window", "get the window closed", "slide the window shut"),
            "window",
            "window_slide",
            {"open": 0.05, "shut": -0.05},
        ),
    )
}

DEFAULT_TASKS: tuple[str, ...] = (
    "reach-v3",
    "push-v3",
    "pick-place-v3",
    "drawer-open-v3",
    "drawer-close-v3",
    "button-press-topdown-v3",
    "door-open-v3",
    "window-open-v3",
)

# Gripper motions: canonical text -> (dx, dy, dz, grip) held for the whole step budget; grip None keeps the last one.
MOVE_DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "left": (-0.5, 0.0, 0.0),
    "right": (0.5, 0.0, 0.0),
    "forward": (0.0, 0.5, 0.0),
    "back": (0.0, -0.5, 0.0),
    "up": (0.0, 0.0, 0.5),
    "down": (0.0, 0.0, -0.5),
}
GRIPPER_MOTIONS: dict[str, tuple[float, float, float, float | None]] = {
    **{f"move the gripper {d}": (*v, None) for d, v in MOVE_DIRECTIONS.items()},
    "open the gripper": (0.0, 0.0, 0.0, -1.0),
    "close the gripper": (0.0, 0.0, 0.0, 1.0),
}

# Phrasing templates. Train and held-out sets use disjoint verbs, so no phrasing is in both splits.
_MOVE = {
    "train": ("move the gripper {d}", "move the hand {d}", "shift the gripper {d}", "move the arm {d}"),
    "heldout": ("slide the gripper {d}", "bring the end effector {d}", "guide the hand {d}"),
}
_DIR_WORDS = {
    "left": "left",
    "right": "right",
    "forward": "forward",
    "back": "back",
    "up": "up",
    "down": "down",
}
_GRIP = {
    "open the gripper": {
        "train": ("open the gripper", "open the hand", "release the gripper"),
        "heldout": ("spread the fingers", "let go with the gripper", "unclench the gripper"),
    },
    "close the gripper": {
        "train": ("close the gripper", "close the hand", "squeeze the gripper"),
        "heldout": ("pinch the fingers together", "clench the gripper", "shut the gripper"),
    },
}
_EVENT = {
    "train": ("the {o} is nudged {d}", "the {o} gets nudged {d}", "someone nudges the {o} {d}"),
    "heldout": ("the {o} is bumped {d}", "something bumps the {o} {d}", "the {o} gets knocked {d}"),
}


def event_text(obj: str, direction: str) -> str:
    """Canonical text of the environment event that nudges ``obj`` in ``direction``."""
    return _EVENT["train"][0].format(o=obj, d=direction)


def task_events(spec: TaskSpec) -> list[str]:
    """Canonical environment events of a task's object."""
    directions = spec.nudges if spec.nudges else FREE_NUDGES
    return [event_text(spec.obj, d) for d in directions]


def phrasings(canonical: str, split: Split) -> list[str]:
    """Phrasings of one canonical action in a split (train phrasings start with the canonical text)."""
    for spec in TASKS.values():
        if canonical == spec.mission:
            return [spec.mission, *spec.train] if split == "train" else list(spec.heldout)
        directions = spec.nudges if spec.nudges else FREE_NUDGES
        for d in directions:
            if canonical == event_text(spec.obj, d):
                return [t.format(o=spec.obj, d=d) for t in _EVENT[split]]
    for d in MOVE_DIRECTIONS:
        if canonical == f"move the gripper {d}":
            return [t.format(d=_DIR_WORDS[d]) for t in _MOVE[split]]
    if canonical in _GRIP:
        return list(_GRIP[canonical][split])
    raise KeyError(f"no phrasings for {canonical!r}")


def canonical_actions(env_names: tuple[str, ...]) -> list[str]:
    """Every canonical action of a world holding these tasks: instructions, gripper motions, events (no repeats)."""
    out = [TASKS[n].mission for n in env_names] + list(GRIPPER_MOTIONS)
    for n in env_names:
        out += task_events(TASKS[n])
    return list(dict.fromkeys(out))
