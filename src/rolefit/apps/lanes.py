"""Fair scoring: one person's request is never queued behind other clients' batches.

All scoring runs on one thread (it is pure Python and holds the GIL: a second scoring thread would only
compete with the first, and with the event loop, for it). That thread takes its work from two lanes:

- the **person lane**: single-person requests (predict, guide, next questions, what-if), each a few
  milliseconds at most, run whole and first;
- the **batch lane**: a batch is a generator that scores a chunk of people (about 4 ms of work,
  :data:`CHUNK_COST`) per step; after each step it goes to the back of the batch lane. Single-person
  work that arrived meanwhile runs next, and batches in flight take turns, chunk by chunk.

So a person waits for at most one chunk of a batch, however many batches are queued, and the batches
keep the thread busy whenever no person is waiting. A flood of single-person requests cannot starve the
batches either: after :data:`PERSON_STREAK` single-person jobs in a row, a waiting batch chunk runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any

#: Cost of one chunk of a batch, in units of about 13 µs of CPU on the 2-core machine: each person
#: counts 2 plus their number of answers (validating, scoring and encoding a person with no answers
#: took 23 µs, with 3 answers 55 µs, with all 44 0.59 ms). So a chunk is about 4 ms of work, and a
#: maximal batch (1,000 people with 3 answers, 64 KB) about 17 chunks.
CHUNK_COST = 300
#: The cost of one person in a batch: see CHUNK_COST.
PERSON_COST = 2
#: Single-person jobs run in a row while a batch chunk waits, before that chunk gets its turn.
PERSON_STREAK = 8
#: Seconds the scoring thread waits for work before it ends (it starts again with the next job).
IDLE_SECONDS = 10.0

Steps = Generator[None, None, Any]


def run_steps(steps: Steps) -> Any:
    """Run a batch's steps to the end, at once (as the lanes do, without the turns)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


class Lanes:
    """The scoring thread and its two lanes; :meth:`person` and :meth:`batch` are awaited on the
    event loop and run the work on the thread."""

    def __init__(self, *, streak: int = PERSON_STREAK, idle_seconds: float = IDLE_SECONDS):
        self.streak, self.idle_seconds = streak, idle_seconds
        self._people: deque[tuple[Future, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._batches: deque[tuple[Future, Steps]] = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._in_a_row = 0
        #: Batches received and not yet answered (read on the event loop, which alone changes it).
        self.batches_in_flight = 0

    async def person(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)`` on the scoring thread, before any batch chunk that is waiting."""
        future: Future = Future()
        self._add(self._people, (future, work, args))
        return await asyncio.wrap_future(future)

    async def batch(self, steps: Steps) -> Any:
        """The value ``steps`` returns, run a step at a time on the scoring thread, taking turns."""
        future: Future = Future()
        self.batches_in_flight += 1
        try:
            self._add(self._batches, (future, steps))
            return await asyncio.wrap_future(future)
        finally:
            self.batches_in_flight -= 1

    def _add(self, lane: deque, job: tuple) -> None:
        with self._wake:
            lane.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="rolefit-scoring", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _next_job(self) -> tuple | None:
        """The next job (a person's, unless a batch chunk has waited for a streak), or None when the
        thread has been idle for ``idle_seconds`` (it has then ended)."""
        with self._wake:
            while not (self._people or self._batches):
                if not self._wake.wait(self.idle_seconds) and not (self._people or self._batches):
                    self._thread = None
                    return None
            if self._people and not (self._batches and self._in_a_row >= self.streak):
                self._in_a_row += 1
                return ("person", *self._people.popleft())
            self._in_a_row = 0
            return ("batch", *self._batches.popleft())

    def _serve(self) -> None:
        while (job := self._next_job()) is not None:
            if job[0] == "person":
                _, future, work, args = job
                if not future.set_running_or_notify_cancel():
                    continue  # the request was abandoned before its turn
                try:
                    result = work(*args)
                except BaseException as exc:  # the awaiting request raises it
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                continue
            _, future, steps = job
            if not future.running() and not future.set_running_or_notify_cancel():
                steps.close()
                continue
            try:
                next(steps)
            except StopIteration as done:
                future.set_result(done.value)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                with self._wake:
                    self._batches.append((future, steps))  # to the back: people and other batches first
