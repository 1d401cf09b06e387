"""One bot process per database: an exclusive lock held for the life of the process.

Two processes on one DATABASE_PATH would both poll every user and both send every queued message —
every push twice. `python -m bot` takes `fcntl.flock` on `<database>.lock` before it touches the
database and keeps it until it exits; the kernel drops it when the process dies (even by SIGKILL),
so a stale lock cannot keep the next start out. A second process exits at once with one line naming
the holder's pid. (`python -m bot.rotate_keys` takes no lock: it is meant to run beside the bot.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class InstanceLockError(RuntimeError):
    """Another process holds the database, or the lock file cannot be created."""


class InstanceLock:
    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(database_path.name + ".lock")
        self._database = database_path
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise InstanceLockError(f"cannot create the lock file {self.path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_pid(fd)
            os.close(fd)
            raise InstanceLockError(
                f"another bot process{f' (pid {holder})' if holder else ''} is already running on "
                f"{self._database} (lock {self.path}); stop it first — two would send every message twice"
            ) from error
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))  # for the message above, and for operators
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(int(os.pread(fd, 32, 0).decode("ascii").strip()))
    return ""
