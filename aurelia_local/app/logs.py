"""Quiet by default: libraries' logs go to a log file, the user sees the project's own output.

:func:`quiet_logs` wraps one command. Unless verbose, it points the process's file descriptors 1 and
2 at the log file (``os.dup2``), so every other source lands there: Python logging (a root handler on
the file, ``warnings`` captured), loggers with their own stream handler (vLLM's), C/C++ libraries
writing to fd 2 (torch, oneDNN), libraries' tqdm bars, and child processes (vLLM's engine core), which
inherit the descriptors. The project's results, errors and progress bars go through
:func:`user_stdout` / :func:`user_stderr`: duplicates of the terminal's descriptors saved on entry.
Everything is restored on exit, so one process may enter it many times (tests call ``main()``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries' tqdm bars, which would fill the log with carriage returns. The project's own bars pass
# ``disable=`` explicitly, and an explicit argument wins over tqdm's TQDM_* environment defaults.
QUIET_ENV = {"TQDM_DISABLE": "1"}

_USER: dict[int, TextIO] = {}  # fd -> the terminal's stream, while a quiet context is active


def user_stdout() -> TextIO:
    """Return the stream for the project's results: the user's stdout, even while fd 1 goes to the log."""
    return _USER.get(1) or sys.stdout


def user_stderr() -> TextIO:
    """Return the stream for the project's errors and progress bars (tqdm's ``file=``)."""
    return _USER.get(2) or sys.stderr


def user_log_path(name: str) -> Path:
    """Return ``$AURELIA_LOG_DIR/NAME-<UTC time>.log`` (default folder ``~/.cache/aurelia/logs``)."""
    folder = os.environ.get("AURELIA_LOG_DIR") or Path.home() / ".cache" / "aurelia" / "logs"
    return Path(folder).expanduser() / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.log"


def _terminal(stream: TextIO, fd: int, saved: int) -> tuple[TextIO, bool]:
    """Return the user's stream for ``fd`` and whether it was opened here.

    A new file on the saved duplicate when ``stream`` writes to ``fd``, else ``stream`` itself (one that
    writes elsewhere, like pytest's capture, is left alone).
    """
    try:
        backed = stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        backed = False
    if not backed:
        return stream, False
    encoding, errors = getattr(stream, "encoding", None), getattr(stream, "errors", None)
    return open(saved, "w", encoding=encoding, errors=errors, buffering=1, closefd=False), True


def _flush(*streams) -> None:
    for stream in streams:
        with contextlib.suppress(Exception):
            stream.flush()


def _to_log_at_exit(log_path: Path) -> None:
    """Point fds 1 and 2 at the log again for the interpreter's shutdown (engines' finalizers log)."""
    _flush(sys.stdout, sys.stderr)
    with contextlib.suppress(OSError):
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


def _notice_handler(stream) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("aurelia: warning: %(message)s"))
    return handler


@contextlib.contextmanager
def quiet_logs(
    log_path: Path | None, verbose: bool = False, append: bool = True, until_exit: bool = False
) -> Iterator[Path | None]:
    """Send everything but the project's own output to ``log_path`` while the block runs.

    Args:
        log_path: the log file (its folder is created); None for a command that needs none, which
            logs warnings to stderr as before.
        verbose: keep everything on the terminal, at INFO; no log file.
        append: add to an existing log (a resumable output folder) instead of starting it afresh.
        until_exit: the block is the whole process (a console script): after the block, send what
            the interpreter's shutdown writes (vLLM stopping its engines) to the log too.

    Yields:
        The log file, or None when there is none.

    On exit the descriptors, handlers and environment are restored, and when the log received
    anything one line ``logs in PATH`` goes to the user's stderr (also when the block raised).
    """
    if verbose or log_path is None or _USER:  # nested: the outer context already routes everything
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
        yield None
        return
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _flush(sys.stdout, sys.stderr)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if append else os.O_TRUNC), 0o644)
    start = os.fstat(log_fd).st_size
    saved = {fd: os.dup(fd) for fd in (1, 2)}  # not inheritable: children cannot reach the terminal
    opened = []
    env = {key: os.environ.get(key) for key in QUIET_ENV}
    root = logging.getLogger()
    project = logging.getLogger("aurelia_local")  # the project's own warnings also reach the user
    notice = None
    level = root.level
    handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    try:
        for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
            _USER[fd], new = _terminal(stream, fd, saved[fd])
            if new:
                opened.append(_USER[fd])
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.environ.update({k: v for k, v in QUIET_ENV.items() if env[k] is None})
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        project.addHandler(notice := _notice_handler(_USER[2]))
        logging.captureWarnings(True)
        yield log_path
    finally:
        _flush(sys.stdout, sys.stderr, handler, *opened)
        logging.captureWarnings(False)
        if notice is not None:
            project.removeHandler(notice)
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
        for stream in opened:
            stream.close()  # closefd=False: the saved descriptor stays open until restored below
        _USER.clear()
        for fd, dup in saved.items():
            os.dup2(dup, fd)
            os.close(dup)
        size = os.fstat(log_fd).st_size
        os.close(log_fd)
        if size == 0:
            log_path.unlink(missing_ok=True)
        elif size > start:
            sys.stderr.write(f"logs in {log_path}\n")
            sys.stderr.flush()
        if until_exit and size:
            atexit.register(_to_log_at_exit, log_path)  # runs before the finalizers registered earlier
