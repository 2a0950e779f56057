"""Worker processes end with the process that started them, even when it is killed with
`kill -9`, instead of lingering as orphans.

The watch holds from the first instruction of a worker: while a pool is being started
(``arming_forks``), a hook registered with ``os.register_at_fork`` runs in each forked child
right after ``fork()``, before any Python code of the worker, sets Linux's parent-death signal
(prctl PR_SET_PDEATHSIG) and exits at once if the parent is already gone. A worker that then
hangs (a lock copied mid-use by fork, a stuck pipe) still dies with its parent. The pool's
initializer adds a polling thread for platforms without prctl.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1
_lock = threading.Lock()
_armed = 0  # pools being started now: a fork meanwhile makes a worker
_parent = 0  # this process's pid when the count was raised (a forked child compares with it)
_registered = False


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()  # loaded once here: no dlopen in a child just forked


def _die_with_parent(parent: int) -> None:
    """Asks for SIGKILL when the parent dies; exits now if it is already gone."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # died before the watch was set
        os._exit(1)


def _after_fork_in_child() -> None:
    global _armed
    if _armed:
        _armed = 0  # the worker's own children are armed only by its own pools
        _die_with_parent(_parent)


@contextmanager
def arming_forks() -> Iterator[None]:
    """Within the block, every process this one forks dies with it, from its first
    instruction (see the module's docstring)."""
    global _armed, _parent, _registered
    with _lock:
        if not _registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _registered = True
        _armed += 1
        _parent = os.getpid()
    try:
        yield
    finally:
        with _lock:
            _armed -= 1


def exit_with_parent(parent: int) -> None:
    """Worker initializer: the worker ends when process `parent` dies.

    Linux delivers SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG, set again here for
    workers not started by fork); everywhere a daemon thread also polls the parent's pid and
    exits the worker once it has changed.
    """
    _die_with_parent(parent)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
