"""BabyAI's language actions: templates, slot vocabularies and train/held-out paraphrases (see ``language.py``).

Place phrases ("in front of the agent", "next to the red ball", ...) map to exact cells; ``babyai.py`` resolves them.

Example:
    >>> BABYAI_PHRASEBOOK.canonical("Make your way to the grey key")
    'go to the grey key'
    >>> BABYAI_PHRASEBOOK.canonical("a red ball pops up next to the blue box")
    'a red ball appears next to the blue box'
"""

from __future__ import annotations

from minigrid.core.constants import COLOR_NAMES

from pan_gym.worlds.language import Phrasebook, Template

COLORS: tuple[str, ...] = tuple(COLOR_NAMES)  # red, green, blue, purple, yellow, grey
OBJECTS: tuple[str, ...] = ("ball", "box", "key")  # objects that can be carried, appear, vanish, recolour
TARGETS: tuple[str, ...] = (*OBJECTS, "door")  # things one can go to
WALLS: tuple[str, ...] = ("top", "bottom", "left", "right")

# Places that name one exact cell. Relative to the agent (its facing direction) or absolute corners of the room;
# "next to the <color> <obj>" resolves in babyai.py.
AGENT_PLACES: tuple[str, ...] = (
    "in front of the agent",
    "behind the agent",
    "to the left of the agent",
    "to the right of the agent",
)
CORNER_PLACES: tuple[str, ...] = (
    "in the top left corner",
    "in the top right corner",
    "in the bottom left corner",
    "in the bottom right corner",
)
NEXT_TO_PLACES: tuple[str, ...] = tuple(f"next to the {c} {o}" for c in COLORS for o in OBJECTS)
PLACES: tuple[str, ...] = AGENT_PLACES + CORNER_PLACES + NEXT_TO_PLACES

_OBJ = {"obj": OBJECTS}

TEMPLATES: list[Template] = [
    # --- agent actions ---
    Template(
        "turn {side}",
        train=(
            "rotate {side}",
            "turn to the {side}",
            "turn {side} once",
            "swivel {side}",
            "veer {side}",
            "make a {side} turn",
            "rotate to the {side}",
        ),
        heldout=("face {side}", "spin to the {side}", "pivot {side}"),
    ),
    Template(
        "move forward",
        train=(
            "go forward",
            "step forward",
            "move forward 1 step",
            "move ahead",
            "go ahead",
            "step ahead",
            "go one step forward",
            "proceed forward",
        ),
        heldout=("walk forward", "advance one step", "take a step forward", "move one tile forward"),
    ),
    Template(
        "move forward {n} steps",
        train=(
            "go forward {n} steps",
            "take {n} steps forward",
            "move ahead {n} steps",
            "go ahead {n} steps",
            "step forward {n} times",
            "move forward {n} times",
            "proceed {n} steps forward",
        ),
        heldout=("walk forward {n} steps", "advance {n} steps", "move {n} tiles ahead"),
    ),
    Template(
        "go to the {color} {obj}",
        train=(
            "walk to the {color} {obj}",
            "head over to the {color} {obj}",
            "move to the {color} {obj}",
            "head to the {color} {obj}",
            "go over to the {color} {obj}",
            "walk up to the {color} {obj}",
            "travel to the {color} {obj}",
        ),
        heldout=(
            "make your way to the {color} {obj}",
            "approach the {color} {obj}",
            "navigate to the {color} {obj}",
        ),
        slots={"obj": TARGETS},
    ),
    Template(
        "pick up the {color} {obj}",
        train=(
            "grab the {color} {obj}",
            "take the {color} {obj}",
            "pick the {color} {obj} up",
            "grasp the {color} {obj}",
            "seize the {color} {obj}",
            "take hold of the {color} {obj}",
            "snatch the {color} {obj}",
        ),
        heldout=("collect the {color} {obj}", "lift the {color} {obj}", "get the {color} {obj}"),
        slots=_OBJ,
    ),
    Template(
        "drop it",
        train=(
            "put it down",
            "drop the object",
            "drop what you are carrying",
            "put the object down",
            "place it on the floor",
            "drop the item",
            "unload it",
        ),
        heldout=("set it down", "let go of it", "release what you are holding"),
    ),
    Template(
        "open the {color} door",
        train=(
            "pull the {color} door open",
            "open up the {color} door",
            "crack the {color} door open",
            "make the {color} door open",
            "open the {color} door now",
        ),
        heldout=("unlatch the {color} door", "swing the {color} door open"),
    ),
    Template(
        "close the {color} door",
        train=(
            "shut the {color} door",
            "pull the {color} door closed",
            "close up the {color} door",
            "make the {color} door close",
            "close the {color} door now",
        ),
        heldout=("push the {color} door shut", "swing the {color} door shut"),
    ),
    Template(
        "toggle the {color} door",
        train=(
            "use the {color} door",
            "toggle the {color} door once",
            "interact with the {color} door",
            "activate the {color} door",
            "work the {color} door",
        ),
        heldout=("operate the {color} door", "flip the {color} door"),
    ),
    # --- environment events ---
    Template(
        "a {color} {obj} appears {place}",
        train=(
            "a {color} {obj} shows up {place}",
            "a {color} {obj} is added {place}",
            "a {color} {obj} turns up {place}",
            "a {color} {obj} spawns {place}",
            "a {color} {obj} is placed {place}",
        ),
        heldout=("a {color} {obj} materializes {place}", "a {color} {obj} pops up {place}"),
        kind="environment",
        slots=_OBJ,
    ),
    Template(
        "the {color} {obj} disappears",
        train=(
            "the {color} {obj} vanishes",
            "the {color} {obj} is removed",
            "the {color} {obj} is taken away",
            "the {color} {obj} is deleted",
            "the {color} {obj} is no longer there",
        ),
        heldout=("the {color} {obj} is gone", "the {color} {obj} fades away", "the {color} {obj} goes away"),
        kind="environment",
        slots=_OBJ,
    ),
    Template(
        "the {color} {obj} turns {new_color}",
        train=(
            "the {color} {obj} becomes {new_color}",
            "the {color} {obj} changes to {new_color}",
            "the {color} {obj} is recoloured {new_color}",
            "the {color} {obj} changes colour to {new_color}",
            "the {color} {obj} is now {new_color}",
        ),
        heldout=("the {color} {obj} is repainted {new_color}", "the {color} {obj} switches to {new_color}"),
        kind="environment",
        slots=_OBJ,
    ),
    Template(
        "a {color} door appears in the {wall} wall",
        train=(
            "a {color} door is built in the {wall} wall",
            "a {color} door shows up in the {wall} wall",
            "a {color} door is added to the {wall} wall",
            "a {color} door is placed in the {wall} wall",
            "a {color} door is cut into the {wall} wall",
        ),
        heldout=(
            "a {color} door materializes in the {wall} wall",
            "a new {color} door emerges in the {wall} wall",
        ),
        kind="environment",
    ),
    Template(
        "the {color} door opens",
        train=(
            "the {color} door swings open",
            "the {color} door opens by itself",
            "the {color} door opens up",
            "the {color} door opens on its own",
            "the {color} door flies open",
        ),
        heldout=("the {color} door comes open", "the {color} door is opened"),
        kind="environment",
    ),
    Template(
        "the {color} door closes",
        train=(
            "the {color} door swings shut",
            "the {color} door closes by itself",
            "the {color} door shuts",
            "the {color} door closes on its own",
            "the {color} door shuts by itself",
        ),
        heldout=("the {color} door slams shut", "the {color} door is closed"),
        kind="environment",
    ),
]

SLOTS: dict[str, tuple[str, ...]] = {
    "side": ("left", "right"),
    "n": ("2", "3"),
    "color": COLORS,
    "new_color": COLORS,
    "obj": TARGETS,
    "place": PLACES,
    "wall": WALLS,
}

BABYAI_PHRASEBOOK = Phrasebook(
    TEMPLATES,
    SLOTS,
    aliases={"gray": "grey", "two": "2", "three": "3"},
)
