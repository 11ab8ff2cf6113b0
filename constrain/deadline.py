"""A wall-clock budget for compiling one constraint.

State and work budgets bound the size of each automaton, but a schema can still ask for many
automata that each stay within them (dozens of pattern-and-length intersections under nested
``not``/``anyOf``), so compiling it would take minutes. :func:`time_budget` sets a deadline for the
current thread (a context variable, so concurrent compilations in other threads keep their own);
the loops that can run long (subset construction, minimization, products, string escaping, the
schema walk) call :func:`check`, which raises :class:`~constrain.errors.CompileTimeoutError` once
the deadline has passed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import CompileTimeoutError

#: (deadline on the time.monotonic() clock, the budget in seconds) of the compilation in progress.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("constrain_compile_deadline", default=None)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block under a compile-time budget of ``seconds`` (``None``: no budget).

    Budgets nest: inside another budget, the earlier deadline of the two applies.
    """
    if seconds is None:
        yield
        return
    if seconds <= 0:
        raise ValueError(f"a compile time budget must be positive, not {seconds!r}")
    deadline = (time.monotonic() + seconds, float(seconds))
    outer = _DEADLINE.get()
    if outer is not None and outer[0] <= deadline[0]:
        deadline = outer
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise :class:`~constrain.errors.CompileTimeoutError` if the current budget is spent."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline[0]:
        raise CompileTimeoutError(
            f"compiling took longer than its time budget of {deadline[1]:g} s "
            "(max_compile_seconds); simplify the schema or regex, or raise the budget"
        )
