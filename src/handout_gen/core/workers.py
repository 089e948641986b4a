"""Worker processes that die with their run and stop when it stops (packet runs, builds).

Workers are forked (they inherit the loaded project) and may write patient files, so they
must never outlive the run that lists those files:

- **They die with their parent.** Each sets ``PR_SET_PDEATHSIG`` (Linux), so a SIGKILL of
  the parent kills them too, instead of leaving them to finish their queued chunks into a
  folder no index will list.
- **They never hold the run lock.** A forked child inherits the parent's descriptors, and
  with them its ``flock`` on the run folder; each worker closes the descriptors it is
  given (the lock, the index and audit journals) first thing, so a dead run is seen as dead.
- **Ctrl-C is the parent's business.** A terminal sends SIGINT to the whole process group;
  workers ignore it (SIGINT is blocked from before the fork until the handler is set, so
  no worker ever prints a KeyboardInterrupt traceback), and the parent stops the pool.
- **Stopping is prompt and clean.** :meth:`WorkerPool.stop` raises a shared flag that the
  workers check between packets, drops the queued work, and waits for the workers to exit;
  only then may the caller remove what no index lists.
- **What a worker makes, it removes.** ``setup`` runs in each worker and its result (a
  renderer, with WeasyPrint's font folder in $TMPDIR) is the worker's :func:`state`, dropped
  as the worker exits, so the folder goes with it; the parent's is never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from handout_gen.core.errors import RenderError
from handout_gen.core.interrupts import HeldInterrupt

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL = 0.1  # seconds between looks at a held Ctrl-C while waiting for results

_STOP: Any = None  # a shared flag (RawValue) the workers of the current pool check
_STATE: list[Any] = []  # in a worker: what its setup made (one item)


def worker_count(requested: int, tasks: int) -> int:
    """Processes for ``tasks`` independent jobs: ``requested``, or (0) one per core this
    process may run on (its CPU affinity, which a container's or a taskset's limit narrows),
    never more than there are jobs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(requested or cores or 1, tasks))


def state() -> Any:
    """In a worker: what the pool's ``setup`` made for it."""
    return _STATE[0]


def _drop_state() -> None:
    """At a worker's exit: drop what its setup made, so WeasyPrint's font folder goes too
    (a worker ends with ``os._exit``, which runs no ``__del__``)."""
    _STATE.clear()
    gc.collect()


def stopping() -> bool:
    """In a worker: has the run been asked to stop? (Check between packets.)"""
    return bool(_STOP is not None and _STOP.value)


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(1)  # pragma: no cover - prctl does not fail for a valid signal
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _start_worker(parent: int, inherited: tuple[int, ...], setup: Callable[[], Any]) -> None:
    """First thing in every worker: ignore Ctrl-C, die with the parent, drop the parent's
    files, set what it inherited aside from the collector, then make its state (dropped by
    one of multiprocessing's exit finalizers, which do run before ``os._exit``).

    Set aside (``gc.freeze``): a worker never frees the parent's objects, yet each full
    collection walked them all again, writing to every page of them (copy-on-write). Forked
    from a large process (a test run, an embedding program) that was most of a worker's
    time spent collecting."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent)
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing our copy leaves the parent's lock and files as they are
    gc.freeze()
    multiprocessing.util.Finalize(None, _drop_state, exitpriority=10)
    _STATE[:] = [setup()]


class WorkerPool:
    """A fork-based process pool whose workers never outlive or outrun the run (see module doc)."""

    def __init__(self, workers: int, setup: Callable[[], Any], inherited: Iterable[int] = ()) -> None:
        """``setup`` runs in each worker (forked: a closure over the parent's objects is fine)
        and makes its :func:`state`; ``inherited`` are descriptors each worker closes first."""
        self.workers = workers
        self._setup = setup
        self._inherited = tuple(inherited)
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        global _STOP
        context = multiprocessing.get_context("fork")
        _STOP = context.RawValue(ctypes.c_bool, False)
        args = (os.getpid(), self._inherited, self._setup)
        executor = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=args
        )
        # A fork pool starts every worker at the first submit: do it now, with SIGINT blocked,
        # so no worker can take a Ctrl-C before it ignores it. (The pool's manager thread,
        # started here too, keeps SIGINT blocked: the main thread handles it.)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            executor.submit(int)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self._executor = executor
        return self

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        assert self._executor is not None
        return self._executor.submit(fn, *args)

    def wait(self, futures: set[Future[T]], held: HeldInterrupt) -> tuple[set[Future[T]], set[Future[T]]]:
        """Wait until at least one of ``futures`` is done; a held Ctrl-C is raised meanwhile."""
        while True:
            done, pending = wait(futures, timeout=POLL, return_when=FIRST_COMPLETED)
            held.check()
            if done:
                return done, pending

    def wait_all(self, futures: Iterable[Future[T]], held: HeldInterrupt) -> list[T]:
        """Every result of ``futures``, in order (the first failure is raised)."""
        futures = list(futures)
        pending = set(futures)
        while pending:
            _, pending = self.wait(pending, held)
        return [result(f) for f in futures]

    def stop(self) -> None:
        """Ask the workers to stop after their current packet, drop queued work, wait for them."""
        if _STOP is not None:
            _STOP.value = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        global _STOP
        try:
            if kind is not None:
                self.stop()
            elif self._executor is not None:
                self._executor.shutdown(wait=True)
        finally:
            self._executor = None
            _STOP = None


def result(future: Future[T]) -> T:
    """A finished future's result; a worker that died (killed, out of memory) is a clean error."""
    try:
        return future.result()
    except BrokenProcessPool:
        msg = (
            "a worker process died unexpectedly (was it killed, or out of memory?); "
            "try again, or with fewer --workers"
        )
        raise RenderError(msg) from None
