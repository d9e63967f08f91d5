"""Where the instance socket lives and who is at its other end; plain Python, no Qt.

The socket is a file in a directory that belongs to this user alone (mode 0700, checked
each time, never assumed), so no other user can put a socket where a later launch looks
for the running Composer. Both ends also ask the kernel which user is at the other end
(SO_PEERCRED) and talk only to their own.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import logging
import os
import re
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# sockaddr_un holds 108 bytes on Linux (104 on the BSDs), the final NUL included.
MAX_SOCKET_PATH = 103
_UCRED = struct.Struct("3i")  # pid, uid, gid


class UnsafeDirectory(OSError):
    """A directory that another user could write to or owns; str() says which and why."""


def instance_name(config_dir: Path) -> str | None:
    """The socket for this user and configuration directory; None when there is no safe place.

    In a directory of our own under $XDG_RUNTIME_DIR when that is private to us, otherwise
    under the temporary directory as ``composer-<uid>``. On Windows, a named pipe's name (its
    access list keeps other users out). None, with a warning in the log, when neither
    directory can be made or trusted: Composer then runs without handing later launches
    over, rather than trust a directory another user controls.
    """
    file_name = socket_file_name(config_dir)
    if sys.platform == "win32":
        return f"composer-{_user()}-{file_name.removesuffix('.sock')}"
    for directory in _candidates():
        try:
            private_directory(directory)
        except OSError as error:
            log.warning("Not using %s for the instance socket: %s", directory, _why(error))
            continue
        path = os.path.join(directory, file_name)
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
            return path
        log.warning("Not using %s for the instance socket: the path is too long", directory)
    log.warning(
        "Composer found no private directory for its instance socket, so later launches "
        "open their messages in a Composer of their own"
    )
    return None


def may_be_listening(name: str) -> bool:
    """False when no Composer can be listening at name (instance_name's): on POSIX, no
    socket file is there. True otherwise, when only a connection can tell."""
    return sys.platform == "win32" or os.path.lexists(name)


def socket_file_name(config_dir: Path) -> str:
    """The socket's name in its directory: one per configuration directory, however named."""
    digest = _sha256(os.fsencode(Path(config_dir).resolve())).hexdigest()[:16]
    return f"{digest}.sock"


def _sha256(data: bytes) -> Any:
    """hashlib.sha256(data), from Python's own SHA-2 module where there is one (_sha2 from
    3.12, _sha256 before): hashlib loads OpenSSL's library first, some 5 ms of every
    launch before its window. The digest is the same."""
    for name in ("_sha2", "_sha256", "hashlib"):
        try:
            return importlib.import_module(name).sha256(data)
        except (ImportError, AttributeError):
            continue
    raise ImportError("no SHA-256 implementation")


def _candidates() -> list[Path]:
    candidates = []
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        try:
            check_private(Path(runtime))
        except OSError as error:
            log.warning("Not using XDG_RUNTIME_DIR (%s): %s", runtime, _why(error))
        else:
            candidates.append(Path(runtime) / "composer")
    candidates.append(Path(tempfile.gettempdir()) / f"composer-{os.getuid()}")
    return candidates


def private_directory(path: Path) -> Path:
    """path, created with mode 0700 if missing; raises UnsafeDirectory unless it is ours alone."""
    # Made by an earlier launch, or by someone else: checked below either way.
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    return check_private(path)


def check_private(path: Path) -> Path:
    """path, if it is a real directory owned by this user that nobody else may enter or write.

    Raises UnsafeDirectory otherwise (OSError if it cannot be examined). lstat, not stat: a
    symbolic link could lead anywhere, even to a directory of ours that is not private.
    """
    status = os.lstat(path)
    if not stat.S_ISDIR(status.st_mode):
        raise UnsafeDirectory(errno.ENOTDIR, "it is not a directory (or is a symbolic link)")
    if status.st_uid != os.getuid():
        raise UnsafeDirectory(errno.EPERM, f"it belongs to another user (uid {status.st_uid})")
    if status.st_mode & 0o077:
        mode = stat.S_IMODE(status.st_mode)
        raise UnsafeDirectory(errno.EPERM, f"other users may use it (mode {mode:04o}, not 0700)")
    return path


def _user() -> str:
    import getpass  # here: it brings termios, and only Windows' pipe name needs the name

    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no name for this account
        user = "user"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", user)[:32] or "user"


def _why(error: OSError) -> str:
    return error.strerror or str(error)


def peer_uid(fd: int) -> int | None:
    """The uid of the process at the other end of the connected Unix socket fd.

    None where the platform cannot tell (no SO_PEERCRED): there the private directory is the
    only guard. Raises OSError when the kernel cannot answer for this descriptor.
    """
    import socket  # here: only the running Composer's server asks

    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    # fromfd duplicates the descriptor, so closing ours leaves the caller's (Qt's) open.
    with socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM) as dup:
        _pid, uid, _gid = _UCRED.unpack(dup.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return int(uid)


def is_own_user(fd: int) -> bool:
    """True when the peer on fd runs as this user (or the platform cannot tell, see peer_uid)."""
    try:
        uid = peer_uid(fd)
    except OSError as error:
        log.warning("Could not tell who is at the other end of the instance socket: %s", error)
        return False
    return uid is None or uid == os.getuid()
