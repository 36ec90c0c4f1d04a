"""The effect models run their matrix products on one BLAS thread.

OpenBLAS splits the sums over respondents inside a matrix product (``X'WX``, ``X'z``, the
sandwich) between its threads, so the last digits of a fitted odds ratio follow the number of
threads, which is the number of cores of the machine unless set: measured on the national
benchmark, the effects table computed with one thread and with two differ by up to 2e-13.
With one thread the published digits are the same on every machine and from run to run. On the
shared 2-core machine one thread is also the fastest (threads waiting on each other made the
effects step twice as long), as for the disclosure control (``stats.publication``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from threadpoolctl import threadpool_limits

P = ParamSpec("P")
R = TypeVar("R")


def one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run with the BLAS (and OpenMP) thread pools limited to one thread."""

    @functools.wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(1):
            return function(*args, **kwargs)

    return limited
