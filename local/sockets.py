"""Which local process holds a TCP connection, read from Linux's /proc (no dependency for one lookup).

The soak's crash fault (bench/soak.py) uses it: the QBO emulator sees a write arrive from 127.0.0.1:<port>,
and the function environment that sent it is the process owning the socket bound to that port.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_PROC = Path("/proc")


def _socket_inodes_on_port(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        path = _PROC / "net" / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                inodes.add(fields[9])
    return inodes


def process_with_local_port(port: int, pids: Iterable[int]) -> int | None:
    """The one of `pids` that owns a TCP socket bound locally to `port`, or None."""
    inodes = {f"socket:[{inode}]" for inode in _socket_inodes_on_port(port)}
    if not inodes:
        return None
    for pid in pids:
        fd_dir = _PROC / str(pid) / "fd"
        try:
            links = {os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)}
        except OSError:  # the process ended meanwhile
            continue
        if links & inodes:
            return pid
    return None
