"""The kernel threads' meeting point (``runtime/_sync.py``): threads that meet at every step see each other's
writes, and a thread whose partner never comes is told so instead of waiting for ever."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytestmark = pytest.mark.needs("numba")


def test_threads_meeting_at_every_step_see_each_others_writes():
    from numba import njit

    from tfjs_interop.runtime._sync import meet

    @njit(nogil=True)
    def relay(board, address, me, steps):  # step t: write my slot, meet, read the other's, meet again
        seen = 0
        for t in range(steps):
            board[t % 2, me] = t + 1
            if not meet(address, 4 * t + 2):
                return -1
            seen += board[t % 2, 1 - me] == t + 1
            if not meet(address, 4 * t + 4):
                return -1
        return seen

    steps = 2000
    board, sync = np.zeros((2, 2), np.int64), np.zeros(1, np.int64)
    relay(board, sync.ctypes.data, 0, 0)  # compiled before the threads start
    results = [None, None]

    def run(me):
        results[me] = relay(board, sync.ctypes.data, me, steps)

    other = threading.Thread(target=run, args=(1,))
    other.start()
    run(0)
    other.join()
    assert results == [steps, steps]
    assert sync[0] == 4 * steps


def test_a_partner_that_never_comes_ends_the_wait():
    from tfjs_interop.runtime._sync import meet

    sync = np.zeros(1, np.int64)
    assert meet(sync.ctypes.data, 1)  # alone and expected alone
    assert not meet(sync.ctypes.data, 3)  # a second arrival that never comes: False after GIVE_UP_YIELDS
