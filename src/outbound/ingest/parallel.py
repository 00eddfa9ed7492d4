"""Normalizing a long stream of numbers on a second process while this one reads and writes.

An import spends about a third of its time in `normalize` and the rest reading rows and
writing them; on a machine with two cores the two halves can overlap. Short uploads are
normalized in-process: a worker is started only when a second chunk of rows arrives.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

from outbound.domain.phone import Normalized, Rejected, normalize

T = TypeVar("T")
CHUNK = 10_000
_AHEAD = 2  # chunks handed to the worker before waiting for the oldest


def _normalize_chunk(raws: list[str], region: str | None) -> list[tuple[bool, str]]:
    """(ok, E.164 or reason) per number: plain tuples pickle fast."""
    out = []
    for raw in raws:
        result = normalize(raw, region)
        out.append((True, result.e164) if isinstance(result, Normalized)
                   else (False, result.reason))
    return out


def _results(answers: list[tuple[bool, str]]) -> list[Normalized | Rejected]:
    return [Normalized(text) if ok else Rejected(text) for ok, text in answers]


def normalized(items: Iterable[T], phone_of: Callable[[T], str | None], region: str | None
               ) -> Iterator[tuple[T, Normalized | Rejected | None]]:
    """Each item with its number's normalization (None where `phone_of` gives None), in order."""
    pool: ProcessPoolExecutor | None = None
    pending: deque[tuple[list[T], Future[list[tuple[bool, str]]]]] = deque()
    try:
        for index, chunk in enumerate(_chunks(items)):
            raws = [phone_of(item) for item in chunk]
            wanted = [raw for raw in raws if raw is not None]
            if (index == 0 and len(chunk) < CHUNK) or (os.cpu_count() or 1) < 2:
                yield from _pair(chunk, raws, _results(_normalize_chunk(wanted, region)))
                continue
            if pool is None:
                pool = ProcessPoolExecutor(1, mp_context=_context())
            pending.append((chunk, pool.submit(_normalize_chunk, wanted, region)))
            if len(pending) > _AHEAD:
                done_chunk, future = pending.popleft()
                yield from _pair(done_chunk, [phone_of(i) for i in done_chunk],
                                 _results(future.result()))
        while pending:
            done_chunk, future = pending.popleft()
            yield from _pair(done_chunk, [phone_of(i) for i in done_chunk],
                             _results(future.result()))
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    """fork where there is one: the worker only runs pure functions, and spawn would re-run
    the caller's __main__ module (a script without a main guard would import twice)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _pair(chunk: list[T], raws: list[str | None], results: list[Normalized | Rejected]
          ) -> Iterator[tuple[T, Normalized | Rejected | None]]:
    answers = iter(results)
    for item, raw in zip(chunk, raws, strict=True):
        yield item, (None if raw is None else next(answers))


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
