"""Worker processes end with the process that started them, even when it is killed with
`kill -9`, instead of lingering as orphans (used as the local pool's worker initializer)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def exit_with_parent(parent: int) -> None:
    """Worker initializer: the worker ends when process `parent` dies.

    Linux delivers SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG); everywhere a daemon
    thread also polls the parent's pid and exits the worker once it has changed.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # died before the watch was set
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
