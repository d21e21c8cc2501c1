"""What can go wrong, by whose doing, and the exit code each gets.

0 success; 1 a measured threshold failed (ThresholdFailure); 2 bad input or an environment fault
the user can fix (UserError, and file-system errors naming a path); 3 an internal error (a bug:
one line pointing at a log that holds the traceback); 130 / 143 interrupted by SIGINT / SIGTERM;
141 stdout closed by its reader (a pipe), as a SIGPIPE death would report.
"""

from __future__ import annotations

import errno

EXIT_OK, EXIT_THRESHOLD, EXIT_USER, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_SIGINT, EXIT_SIGPIPE, EXIT_SIGTERM = 130, 141, 143


class UserError(Exception):
    """Bad input from the user: the CLI prints the message on one line and exits 2.

    The message names the bad value and what was expected, e.g.
    ``--mesh '3x'`` is not a mesh shape; expected ROWSxCOLS such as 1x8 or 4x8``.
    """


class ThresholdFailure(Exception):
    """A run finished but a suite threshold did not hold: exit 1."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what a CI cancel sends), raised where SIGINT would raise KeyboardInterrupt so that the
    same clean-up runs."""


_FAULTS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "not a directory",
    errno.EISDIR: "is a directory",
}


def environment_fault(exc: OSError) -> str | None:
    """One line for a file-system fault the user can fix (full disk, read-only or missing path), or
    None when the OSError is not one of those."""
    if exc.errno not in _FAULTS:
        return None
    where = exc.filename if exc.filename is not None else "a file"
    return f"{where}: {_FAULTS[exc.errno]}"


def reason(exc: OSError) -> str:
    return _FAULTS.get(exc.errno, exc.strerror or type(exc).__name__)
