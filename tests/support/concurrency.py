"""Running test work in many threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_threads(work: Callable[[int], object], count: int = 8, timeout: float = 120) -> list:
    """Run ``work(i)`` in ``count`` threads started together; return the results in order, re-raise the first
    failure, and fail if a thread is still running after ``timeout`` seconds."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), f"a thread did not finish within {timeout} s"
    if errors:
        raise errors[0]
    return results


def killed_midway(script: str, args: list[str], seconds: float, cwd: object = None) -> None:
    """Start ``python -c script *args``, wait for it to print ``ready``, let it work ``seconds``, then SIGKILL it
    and reap it."""
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, cwd=cwd)
    try:
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(seconds)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process.stdout.close()
