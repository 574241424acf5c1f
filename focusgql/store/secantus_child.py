"""The embedded SecantusDB's process: `python -m secantus`, with its stop made safe
against a second SIGTERM.

SecantusDB stops on SIGTERM or SIGINT from a Python signal handler that sets a
`threading.Event`; a second signal that lands while the first handler holds
that event's lock runs the handler again, nested, on the same thread, which
then waits forever for the lock it holds. A burst is what a killed server
sends: the child's death signal (store/mongo.py) is delivered again each time
the child passes from one exiting thread of the dead server to the next. The
database then hung holding its files and the next start could not have them.
Here every handler SecantusDB installs runs once; later signals are dropped
(its stop is under way).
"""

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from secantus.cli import main  # type: ignore[import-untyped]

Handler = Callable[[int, FrameType | None], Any]
Disposition = Handler | int | signal.Handlers | None
_install = signal.signal


def _once(handler: Handler) -> Handler:
    ran = False  # a plain flag: a handler must take no lock of its own

    def guarded(signum: int, frame: FrameType | None) -> Any:
        nonlocal ran
        if ran:
            return None
        ran = True
        return handler(signum, frame)

    return guarded


def _install_once(signalnum: int | signal.Signals, handler: Disposition) -> Disposition:
    return _install(signalnum, _once(handler) if callable(handler) else handler)


if __name__ == "__main__":
    signal.signal = _install_once
    raise SystemExit(main())
