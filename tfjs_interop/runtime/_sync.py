"""Kernel threads meeting once per time step, inside compiled code: a counter in shared memory that each thread
increments atomically when it arrives and reads until every thread has. Imported only by ``_kernels``.

Why not a ``threading.Barrier``: a step of a 256-unit LSTM at batch 1 takes a few microseconds, and a Python barrier
would cost more than the step and hold the GIL. Waiting spins (with the pause hint on x86) briefly, then gives the
core away (``sched_yield``) between looks, so that a thread the OS has descheduled — more threads than cores, as in a
busy server — gets to run instead of being starved by its partner; a partner that never arrives (it could not be
started) ends the wait after ``GIVE_UP_YIELDS`` yields, reported to the caller as False.
"""

from __future__ import annotations

import platform
import sys

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._kernel_cache import stamp_with_sources

OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}
SPINS = 1 << 4  # looks with the pause hint before the first yield (~0.5-2 µs): where the two threads of an LSTM's
# units shared the same core (pinned there, or placed so by the OS: seen on a 2-core Zen 3 VM), 1,024 looks (~20 µs
# a step) made its B=1, T=100, 256-unit loop 6.2 ms against 2.0 on one thread; 16 looks: 2.9. The fastest calls,
# on two cores, stayed as fast (1.3-1.5 ms, against 1.2-1.7): a yield returns at once where nothing else waits
GIVE_UP_YIELDS = 1 << 22  # yields after which a partner is taken for lost (seconds at the least)
_X86 = platform.machine().lower() in ("x86_64", "amd64")


@intrinsic
def _fetch_add(typingctx, address, value):
    """Atomically add ``value`` to the int64 at ``address`` (sequentially consistent: what this thread wrote before
    is seen by a thread that sees the new count)."""
    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        return builder.atomic_rmw("add", pointer, args[1], "seq_cst")

    return types.int64(types.intp, types.int64), codegen


@intrinsic
def _load(typingctx, address):
    """The int64 at ``address``, read atomically with acquire ordering."""
    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(types.intp), codegen


@intrinsic
def _pause(typingctx):
    """x86's spin-wait hint, by LLVM's intrinsic (numba's JIT takes no inline assembly); nothing elsewhere."""
    def codegen(context, builder, signature, args):
        if _X86:
            builder.call(cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                        "llvm.x86.sse2.pause"), [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _sched_yield(typingctx):
    """libc's ``sched_yield()``, by its symbol (so that the kernels stay cacheable: no address is baked in)."""
    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                  "sched_yield")
        builder.call(function, [])
        return context.get_dummy_value()

    return types.void(), codegen


@njit(**OPTIONS)
def meet(address, count):
    """Arrive at the counter at ``address``, then wait until ``count`` arrivals in all: True, or False when the
    others did not come (``GIVE_UP_YIELDS``)."""
    _fetch_add(address, 1)
    return wait_for(address, count)


@njit(**OPTIONS)
def wait_for(address, count):
    """Wait until the counter at ``address`` reaches ``count`` (spinning, then yielding between looks): True, or
    False after ``GIVE_UP_YIELDS`` yields."""
    looks = 0
    while _load(address) < count:
        looks += 1
        if looks < SPINS:
            _pause()
        elif looks - SPINS > GIVE_UP_YIELDS:
            return False
        else:
            _sched_yield()
    return True


stamp_with_sources(sys.modules[__name__])  # before any kernel loads from the cache (``_kernel_cache``)
