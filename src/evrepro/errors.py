"""Expected failures: bad input or a state a person can fix, reported in one line without a traceback.

Every error evrepro raises for something outside its own code — a malformed file, a wrong download,
a damaged archive, a config mistake — derives from ``EvreproError`` and says what is wrong, where
(file, sample, byte offset), the value found and, when there is one, what to do. The CLI and the
rule scripts print such errors as one line (the traceback goes to the log); anything else is a bug
and keeps its traceback.
"""

import errno

# OS errors a user causes and can fix: a missing input, a read-only folder, a full disk
USER_OS_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


class EvreproError(Exception):
    """An expected failure; its message is the whole report."""


class ConfigError(EvreproError):
    """The workflow config cannot be read or does not validate."""


class DamagedFile(EvreproError):
    """A file evrepro wrote does not open as what it should be (cut short, overwritten, or refused)."""


class DiskFull(EvreproError):
    """A write failed for lack of space; nothing partial was left."""


def is_expected(error: BaseException) -> bool:
    """Whether ``error`` is a user-fixable failure (reported in one line) rather than a bug."""
    if isinstance(error, EvreproError):
        return True
    return isinstance(error, OSError) and error.errno in USER_OS_ERRNOS


def one_line(error: BaseException) -> str:
    """The report of an expected error on a single line."""
    if isinstance(error, OSError) and not isinstance(error, EvreproError) and error.filename:
        text = f"{error.filename}: {error.strerror}"
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            text += " (make the folder writable, or run from a copy you can write to)"
        elif error.errno in (errno.ENOSPC, errno.EDQUOT):
            text += " (free some space and run again: finished results are kept)"
    else:
        text = str(error) or type(error).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
