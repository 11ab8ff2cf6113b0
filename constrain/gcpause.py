"""Pausing Python's cyclic garbage collector while constrain builds automata.

Compiling a schema and computing a new mask allocate tens of thousands of small containers
(syntax trees, NFA edge lists, parse stacks) that mostly survive the step. Every 700 allocations
the collector then traverses the young ones, and every tenth time the older ones: measured on the
MaskBench sample of ``benches/bench_speed.py`` (tekken, compiles between token walks as the bench
runs them), the median time to first mask went from 3.3 ms to 2.5 ms with the collector off.

:data:`gc_paused` turns the collector off for the duration of a block and back on afterwards, if
it was on when the outermost block began. Blocks nest, also across threads (a counter under a
lock): the collector comes back on when the last block in the process ends. Nothing is leaked:
garbage made meanwhile is collected at the next collection after that.
"""

from __future__ import annotations

import gc
import threading
from types import TracebackType


class _GcPause:
    """A reusable, re-entrant, thread-safe context manager (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._resume:
                gc.enable()


#: ``with gc_paused: ...`` runs the block with the cyclic garbage collector off.
gc_paused = _GcPause()
