"""Finding and reading the files ``shinsaku scan`` judges, safely: any file name (bytes that are not
UTF-8 included), symlinks and special files reported instead of followed or opened, sizes checked
before reading, unreadable folders reported."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A path found by ``collect_files``: to be read when ``error`` is None, else reported with its
    ``error`` code and ``message``. ``path`` is the file system path (``str``, undecodable bytes as
    surrogate escapes)."""

    path: str
    error: str | None = None
    message: str | None = None

    @property
    def shown(self) -> str:
        """``path`` for people and reports: valid UTF-8, undecodable bytes written as ``\\xNN``."""
        return display_path(self.path)


class FileRefused(OSError):
    """A file ``read_limited`` will not read: ``code`` says why (``not_a_regular_file``,
    ``file_too_large``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def display_path(path: str) -> str:
    """``path`` as printable UTF-8: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def _reason(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _symlink(path: str, root: str) -> Candidate | None:
    """The error of a symlink found inside ``root`` (a real path), or None for a link to a regular
    file inside ``root``, which is judged like the file."""
    try:
        target = os.stat(path)
    except FileNotFoundError:
        return Candidate(path, "dangling_symlink", f"points to {display_path(os.readlink(path))}, which does not exist")
    except OSError as exc:
        return Candidate(path, "symlink_loop" if exc.errno == errno.ELOOP else "unreadable_file", _reason(exc))
    real = os.path.realpath(path)
    if not _inside(real, root):
        return Candidate(path, "symlink_outside_folder", f"points outside the folder, to {display_path(real)}")
    if not stat.S_ISREG(target.st_mode):
        return Candidate(path, "not_a_regular_file", f"a symlink to a {_kind(target.st_mode)}; not followed")
    return None


def walk_folder(folder: str) -> list[Candidate]:
    """Every non-hidden entry under ``folder``, recursively, sorted by path: regular files (and
    symlinks to regular files inside ``folder``) to read, everything else as an error without
    opening it: folders that cannot be listed, dangling, looping or escaping symlinks, symlinks to
    folders (not followed), FIFOs, sockets and devices."""
    root = os.path.realpath(folder)
    out: list[Candidate] = []
    stack = [folder]
    while stack:  # explicit stack: any depth of nesting
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                listed = list(entries)
        except OSError as exc:
            out.append(Candidate(current, "unreadable_folder", _reason(exc)))
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    found = _symlink(entry.path, root)
                    out.append(found or Candidate(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    out.append(Candidate(entry.path))
                else:
                    kind = _kind(entry.stat(follow_symlinks=False).st_mode)
                    out.append(Candidate(entry.path, "not_a_regular_file", f"a {kind}; not read"))
            except OSError as exc:
                out.append(Candidate(entry.path, "unreadable_file", _reason(exc)))
    return sorted(out, key=lambda c: c.path)


def collect_files(paths: Iterable[str | os.PathLike]) -> list[Candidate]:
    """The candidates of ``paths``: a folder is walked (``walk_folder``); a file given by name is
    kept (a symlink given by name is followed); a path that does not exist, loops or is not a
    regular file is kept as an error, never opened."""
    out: list[Candidate] = []
    for path in map(os.fspath, paths):
        path = os.fsdecode(path)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            code = ("symlink_loop" if exc.errno == errno.ELOOP else
                    "dangling_symlink" if isinstance(exc, FileNotFoundError) and os.path.islink(path) else
                    "unreadable_file")
            out.append(Candidate(path, code, _reason(exc)))
            continue
        if stat.S_ISDIR(mode):
            out += walk_folder(path)
        elif stat.S_ISREG(mode):
            out.append(Candidate(path))
        else:
            out.append(Candidate(path, "not_a_regular_file", f"a {_kind(mode)}; not read"))
    return out


def read_limited(path: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` bytes. It is opened without
    blocking (a FIFO swapped in cannot hang) and checked with ``fstat`` before anything is read.

    Raises:
        FileRefused: not a regular file (``not_a_regular_file``) or over ``limit`` bytes
            (``file_too_large``).
        OSError: the file cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("not_a_regular_file", f"a {_kind(info.st_mode)}; not read")
        if info.st_size > limit:
            raise FileRefused("file_too_large", f"{info.st_size} bytes, the limit is {limit}")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileRefused("file_too_large", f"more than {limit} bytes, the limit is {limit}")
    return data
