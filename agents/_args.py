"""``parse_args(Args)``: a command line from a ``@dataclass`` whose fields carry docstrings (CleanRL/tyro style).

Each field becomes ``--field-name`` with its default and its docstring as help; bools get ``--x/--no-x``;
``X | None`` fields accept ``none``.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Args:
    ...     steps: int = 10
    ...     '''how many steps'''
    ...     cuda: bool = False
    ...     '''use a GPU'''
    >>> parse_args(Args, ["--steps", "3", "--cuda"])
    Args(steps=3, cuda=True)
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
import types
import typing
from collections.abc import Sequence
from typing import Any


def field_docs(cls: type) -> dict[str, str]:
    """The string literal right after each annotated field in the class body."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # no source (e.g. defined in a REPL): no help texts
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(getattr(nxt, "value", None), ast.Constant):
                docs[node.target.id] = str(nxt.value.value)
    return docs


def _converter(tp: Any):
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    optional = typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1
    base = args[0] if optional else tp
    if typing.get_origin(base) is tuple:
        inner = typing.get_args(base)[0]
        return (lambda s: tuple(inner(x) for x in s.split(",") if x.strip())), optional
    return base, optional


def parse_args(cls: type, argv: Sequence[str] | None = None) -> Any:
    """Parse ``argv`` (default ``sys.argv[1:]``) into an instance of the dataclass ``cls``."""
    docs = {
        k: v for c in reversed(cls.__mro__) if dataclasses.is_dataclass(c) for k, v in field_docs(c).items()
    }
    hints = typing.get_type_hints(cls)
    parser = argparse.ArgumentParser(
        description=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None
    )
    for f in dataclasses.fields(cls):
        flag, tp = "--" + f.name.replace("_", "-"), hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_ = f"{docs.get(f.name, '')} (default: {default})"
        if tp is bool:
            parser.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=help_
            )
            continue
        conv, optional = _converter(tp)

        def convert(s: str, conv=conv, optional=optional):
            return None if optional and s.lower() == "none" else conv(s)

        parser.add_argument(flag, dest=f.name, type=convert, default=default, help=help_)
    return cls(**vars(parser.parse_args(argv)))
