"""One boto3 Session per thread, so adapters create their clients cheaply and safely.

A Session loads service models once and caches them (a fresh Session per client costs ~0.1 s); Sessions are
not thread-safe, hence one per thread. Clients are still created lazily by each adapter, never at import,
so moto intercepts them in tests.
"""

from __future__ import annotations

import threading

import boto3

_per_thread = threading.local()


def aws_session() -> boto3.session.Session:
    session: boto3.session.Session | None = getattr(_per_thread, "session", None)
    if session is None:
        session = boto3.session.Session()
        _per_thread.session = session
    return session
