"""A function's init phase: Python's cyclic garbage collector paused while the handler module loads, and what
it loaded frozen once it has.

Each functions/*/app.py imports this module first and calls `done()` last. Loading the libraries and our
modules allocates about 100,000 tracked objects and frees almost none of them (about 900 objects of cyclic
garbage in SyncFunction's init). With the collector running, those allocations set off collection after
collection, each scanning every object loaded so far: about 30 ms of each cold start (bench/cold_start.py).

`done()` then moves everything loaded into the permanent generation (`gc.freeze`), so no later collection
scans it: the first invocation does not pay the skipped collections back. The init's garbage (those 900
objects or so) stays for the life of the environment.

Only the first import in a process pauses the collector, and only that pause is ended: a test process that
loads several handler modules (or one handler module again) keeps collecting as before.
"""

from __future__ import annotations

import gc

_paused_by_this_module = gc.isenabled()
if _paused_by_this_module:
    gc.disable()


def done() -> None:
    """The handler module has loaded: freeze what it loaded and collect again."""
    global _paused_by_this_module
    if _paused_by_this_module:
        _paused_by_this_module = False
        gc.freeze()
        gc.enable()
