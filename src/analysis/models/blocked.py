"""Sums over blocks of rows, the two halves on two threads, with BLAS on one thread.

The products a fit on 10^6 rows repeats -- X'WX and X'r
(:func:`information_score`), X'diag(w)X (:func:`weighted_gram`) -- are summed
over blocks of rows that stay in cache, never as an n x k temporary; a long
sum is split in two halves that run side by side (:func:`in_halves`), each
with BLAS limited to one thread (:func:`one_blas_thread`). The Newton passes
of :mod:`analysis.models.newton` are summed the same way.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

_BLOCK = 1 << 14  # rows per block of X'WX and X'r


_BLAS: list = []  # threadpoolctl's controller, found once (it reads /proc/self/maps)


@contextmanager
def one_blas_thread():
    """Limit BLAS to one thread inside (the Newton passes' products are on small blocks).

    A pass multiplies blocks of 4,096 rows: too small to share between
    threads. With OpenBLAS's default two threads on a busy 2-core machine the
    Newton passes of a 10^6-row fit took 11 s instead of 1.2 s (threads
    waiting for a core at every call). Nested uses keep the outer limit.
    """
    if getattr(_limited, "on", False):
        yield
        return
    from threadpoolctl import ThreadpoolController

    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    with _BLAS[0].limit(limits=1, user_api="blas"):
        _limited.on = True
        try:
            yield
        finally:
            _limited.on = False


_limited = threading.local()


def in_halves(total, blocks: list, *args):
    """``total(first half of blocks) + total(second half)``, the halves on two threads.

    A Newton pass is a sum over blocks of rows, and numpy releases the GIL in
    each block's products, so two threads make a pass of 10^6 rows about 1.7
    times as fast on two cores (benchmarks/bench_logistic_threads.py). The
    halves depend only on the number of blocks, never on the cores, so the
    sums, and every estimate, are the same on any machine; on one core the
    halves run one after the other.
    """
    if len(blocks) < _HALVES_FROM:
        return total(blocks, *args)
    middle = len(blocks) // 2
    pool = _pool()
    if pool is None:
        first, second = total(blocks[:middle], *args), total(blocks[middle:], *args)
    else:
        later = pool.submit(total, blocks[middle:], *args)
        first, second = total(blocks[:middle], *args), later.result()
    return tuple(None if a is None else a + b for a, b in zip(first, second, strict=True))


_HALVES_FROM = 16  # blocks: from about 65,000 rows, a pass is long enough to share
_POOL: list = []


def _pool():
    """One worker thread for the second halves (None on a single core)."""
    import os

    if not _POOL:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(1, thread_name_prefix="newton") if cores > 1
                     else None)
    return _POOL[0]


def weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X' diag(w) X, accumulated over blocks of rows."""
    k = X.shape[1]
    gram = np.zeros((k, k))
    for start in range(0, X.shape[0], _BLOCK):
        block = X[start:start + _BLOCK]
        gram += block.T @ (block * w[start:start + _BLOCK, None])
    return gram


def information_score(X: np.ndarray, w: np.ndarray, r: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """X' diag(w) X and X'r in one pass over blocks of rows (each block read once), w >= 0.

    No n x k temporary: at 10^6 rows and 44 columns, ``X.T @ (X * w[:, None])``
    makes a 350 MB one per call.
    """
    blocks = [(a, a + _BLOCK) for a in range(0, X.shape[0], _BLOCK)]
    with one_blas_thread():  # each half's products on one core
        return in_halves(_information_blocks, blocks, X, np.sqrt(w), r)


def _information_blocks(blocks, X, root, r):
    k = X.shape[1]
    gram, score = np.zeros((k, k)), np.zeros(k)
    for start, stop in blocks:
        block = X[start:stop]
        scaled = block * root[start:stop, None]  # root = sqrt(w), w >= 0
        gram += scaled.T @ scaled  # numpy sees A'A and calls BLAS syrk: half the work
        score += block.T @ r[start:stop]
    return gram, score


__all__ = ["in_halves", "information_score", "one_blas_thread", "weighted_gram"]
