"""Per-rule logs: everything a stage logs or prints to stderr (tqdm progress too) goes to its log file."""

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


@contextmanager
def logged(log_path: str | Path | None) -> Iterator[None]:
    """Send logging and stderr to ``log_path`` (and still to stderr); record any exception there too."""
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log_file:
        original = sys.stderr
        sys.stderr = _Tee(original, log_file)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                            stream=sys.stderr, force=True)
        try:
            yield
        except BaseException:
            log_file.write(traceback.format_exc())
            raise
        finally:
            sys.stderr = original
            logging.basicConfig(level=logging.INFO, force=True)
