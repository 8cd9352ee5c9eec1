"""A memory prefetch hint for compiled (numba) loops whose next accesses are known but random.

``prefetch(a, i)`` asks the CPU to start loading the cache line that holds ``a[i]`` (a
one-dimensional array) and returns at once; it never faults and changes no value, so a kernel
computes exactly what it computed without it. Worth it where a loop's accesses jump across
memory much larger than the caches (BPR's SGD over a million users' factor rows): the loads of
step s + d overlap the work of step s instead of stalling it. Import it only from kernel
modules that are themselves imported on first use: it imports numba.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, idx):
    """``prefetch(array, index)`` in a compiled loop: the cache line of ``array[index]``."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read access, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
