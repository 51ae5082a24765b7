"""Per-rule logs: everything a stage logs or prints to stderr (tqdm progress too) goes to its log file.

An expected error (``evrepro.errors``) is reported on stderr as one line and the process exits with
status 1; its traceback goes to the log file only (or to stderr too with ``debug``). Any other error
keeps its traceback: it is a bug.
"""

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evrepro.errors import is_expected, one_line


class _Tee:
    """A text stream that writes to a terminal stream and a log file."""

    def __init__(self, stream, log_file):
        self.stream, self.log_file = stream, log_file

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.log_file.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        self.log_file.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        """Flush only: the terminal stream is not ours, and ``logged`` closes the log file (absl's logging handler
        closes its stream at exit, which is this one when TensorFlow was imported inside ``logged``)."""
        self.stream.flush()
        if not self.log_file.closed:
            self.log_file.flush()


def current_log() -> str | None:
    """The log file ``logged`` is writing to in this process, if any (for the processes a job starts)."""
    return getattr(getattr(sys.stderr, "log_file", None), "name", None)


@contextmanager
def logged(log_path: str | Path | None, label: str = "error", debug: bool = False) -> Iterator[None]:
    """Send logging and stderr to ``log_path`` (and still to stderr); report errors as the module says.

    ``label`` starts the one-line report of an expected error (``evrepro fetch: error``).
    """
    log_file = None
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log_file = open(log_path, "a")
    original = sys.stderr
    if log_file:
        sys.stderr = _Tee(original, log_file)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr,
                        force=True)
    try:
        yield
    except BaseException as error:
        if log_file:
            log_file.write(traceback.format_exc())
        if debug or not is_expected(error):
            raise
        original.write(f"{label}: {one_line(error)}\n")
        raise SystemExit(1) from None
    finally:
        sys.stderr = original
        logging.basicConfig(level=logging.INFO, force=True)
        if log_file:
            log_file.close()
