"""Who holds a database lease, and whether that holder is gone.

A lease owner names its process (`host/pid/nonce/random`). When a process is killed (SIGKILL) its leases
stay in the database; a process of the same host can tell they are abandoned because the pid no longer
runs (or now belongs to another process, told apart by the nonce) and take them over at once instead of
waiting for them to expire.
"""

from __future__ import annotations

import os
import socket
import uuid

PROCESS_NONCE = uuid.uuid4().hex[:12]
HOST = socket.gethostname()


def lease_owner() -> str:
    return f"{HOST}/{os.getpid()}/{PROCESS_NONCE}/{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str) -> bool:
    """True when ``owner`` names a process of this host that no longer runs (killed before releasing)."""
    parts = owner.split("/")
    if len(parts) != 4 or parts[0] != HOST or not parts[1].isdigit():
        return False
    pid, nonce = int(parts[1]), parts[2]
    if pid == os.getpid():
        return nonce != PROCESS_NONCE  # same pid, another (earlier) process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
