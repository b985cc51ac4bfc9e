"""How every command reports bad input: ``error: <message>`` on stderr and exit status 1, no traceback.

Example:
    >>> import typer
    >>> try:
    ...     with exit_on(ValueError):  # stderr: error: unknown world 'atlantis'
    ...         raise ValueError("unknown world 'atlantis'")
    ... except typer.Exit as e:
    ...     e.exit_code
    1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer


@contextmanager
def exit_on(*errors: type[BaseException]) -> Iterator[None]:
    """Turn ``errors`` raised inside the block into ``error: …`` on stderr and ``typer.Exit(1)``."""
    try:
        yield
    except errors as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
