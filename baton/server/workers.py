"""A bounded pool of synthesis threads with admission control, cancellation and deadlines.

Why threads: rendering is onnxruntime and numpy, which release the GIL, so N threads render N requests at
once on one loaded voice (one copy of the weights; onnxruntime sessions are safe to run concurrently).
Each worker's onnxruntime session uses CPU cores // N threads (ServeConfig.onnx_threads).

Admission: at most ``workers + max_queue`` requests are admitted (rendering or waiting); the next one is
refused at once with :class:`Overloaded`, which carries a Retry-After estimate from the measured service
time. Work checks its :class:`Ticket` between audio pieces, so a client that disconnects, a deadline that
passes or a shutdown stops the render after the current sentence group, and frees the worker.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable


class Overloaded(Exception):
    """All workers busy and the queue full."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"the server is at capacity; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ShuttingDown(Exception):
    """The server is stopping and admits no new work."""


class Cancelled(Exception):
    """The ticket was cancelled (client gone or shutdown)."""


class DeadlineExceeded(Exception):
    """The request ran past its deadline."""


@dataclass(eq=False)
class Ticket:
    """One admitted request: the worker checks it between pieces of work."""

    deadline: float
    """time.monotonic() by which the request must be finished."""
    cancel_event: threading.Event = field(default_factory=threading.Event)
    started: float | None = None
    """time.monotonic() when a worker picked it up (None while queued)."""

    def cancel(self) -> None:
        self.cancel_event.set()

    def check(self) -> None:
        """Raise Cancelled / DeadlineExceeded when the work should stop."""
        if self.cancel_event.is_set():
            raise Cancelled("the request was cancelled")
        if time.monotonic() > self.deadline:
            raise DeadlineExceeded("the request ran past its timeout")


class WorkerPool:
    """``submit(work, timeout_s)`` -> (Ticket, Future). ``work(ticket)`` runs on a worker thread."""

    DEFAULT_SERVICE_S = 2.0
    """Assumed seconds per request for Retry-After before any request has finished."""

    def __init__(self, workers: int, max_queue: int):
        if workers < 1 or max_queue < 0:
            raise ValueError(f"workers must be >= 1 and max_queue >= 0, got {workers} and {max_queue}")
        self.workers = workers
        self.max_queue = max_queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="baton-synth")
        self._lock = threading.Lock()
        self._tickets: set[Ticket] = set()
        self._running = 0
        self._closing = False
        self._service_s: float | None = None
        self.counts = {"admitted": 0, "rejected": 0, "completed": 0, "cancelled": 0, "timed_out": 0, "failed": 0}
        self.last_finished = 0.0
        """time.monotonic() when the last piece of work ended (tests compare it with first-byte times)."""

    # ------------------------------------------------------------------------------------------------
    def submit(self, work: Callable[[Ticket], Any], timeout_s: float) -> tuple[Ticket, Future]:
        """Admit ``work`` or raise Overloaded / ShuttingDown at once (never waits). The future holds what
        ``work(ticket)`` returns or raises."""
        ticket = Ticket(deadline=time.monotonic() + timeout_s)
        with self._lock:
            if self._closing:
                raise ShuttingDown("the server is shutting down; retry on another replica")
            if len(self._tickets) >= self.workers + self.max_queue:
                self.counts["rejected"] += 1
                raise Overloaded(self._retry_after_locked())
            self._tickets.add(ticket)
            self.counts["admitted"] += 1
        try:
            future = self._executor.submit(self._run, work, ticket)
        except RuntimeError:  # the executor was shut down between the check and here
            with self._lock:
                self._tickets.discard(ticket)
            raise ShuttingDown("the server is shutting down; retry on another replica") from None
        future.add_done_callback(lambda f, t=ticket: self._release_if_never_ran(f, t))
        return ticket, future

    def _run(self, work: Callable[[Ticket], Any], ticket: Ticket) -> Any:
        started = ticket.started = time.monotonic()
        with self._lock:
            self._running += 1
        outcome = "completed"
        try:
            ticket.check()  # cancelled or timed out while queued: do not start
            return work(ticket)
        except Cancelled:
            outcome = "cancelled"
            raise
        except DeadlineExceeded:
            outcome = "timed_out"
            raise
        except BaseException:
            outcome = "failed"
            raise
        finally:
            elapsed = time.monotonic() - started
            with self._lock:
                self._running -= 1
                self._tickets.discard(ticket)
                self.counts[outcome] += 1
                if outcome == "completed":  # exponential moving average of service time, for Retry-After
                    self._service_s = elapsed if self._service_s is None else 0.8 * self._service_s + 0.2 * elapsed
                self.last_finished = time.monotonic()

    def _release_if_never_ran(self, future: Future, ticket: Ticket) -> None:
        if future.cancelled():  # cancelled in the queue by shutdown: _run never ran
            with self._lock:
                if ticket in self._tickets:
                    self._tickets.discard(ticket)
                    self.counts["cancelled"] += 1

    def _retry_after_locked(self) -> int:
        service = self._service_s if self._service_s is not None else self.DEFAULT_SERVICE_S
        waiting = max(len(self._tickets) - self.workers + 1, 1)
        return int(min(max(math.ceil(service * waiting / self.workers), 1), 120))

    # ------------------------------------------------------------------------------------------------
    def stats(self) -> dict[str, float | int | bool]:
        with self._lock:
            return {"workers": self.workers, "max_queue": self.max_queue, "running": self._running,
                    "queued": len(self._tickets) - self._running, "closing": self._closing,
                    "mean_service_s": round(self._service_s, 3) if self._service_s is not None else None,
                    **self.counts}

    @property
    def closing(self) -> bool:
        return self._closing

    def close(self, cancel: bool = True) -> None:
        """Admit nothing more; with ``cancel`` stop queued and running work at its next check. Waits for the
        worker threads to end."""
        with self._lock:
            self._closing = True
            tickets = list(self._tickets)
        if cancel:
            for ticket in tickets:
                ticket.cancel()
        self._executor.shutdown(wait=True, cancel_futures=cancel)
