"""The ``tfjs-interop`` command's entry point (and ``python -m tfjs_interop``'s): Ctrl-C while the command line's
modules import, a few tenths of a second, ends as it does inside a command (one line, status 130), not with a
traceback."""

from __future__ import annotations

import sys

from .exits import EXIT_INTERRUPTED, INTERRUPTED


def main() -> int:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    return run()
