"""The training child's log (`<state>/trials/<trial>-a<attempt>/train.log`), bounded.

The child's stdout and stderr (Trainer logs, tqdm bars, tracebacks; every rank under
torchrun) come to the agent through a pipe, and `TrialLog` writes them:

- **size cap** (`--max-log-mb`): the first half of the cap is written as it comes (model
  loading, the configuration, the first steps); past it, output goes to two rotating tail
  segments of a quarter of the cap each, so the disk holds at most the cap while the child
  runs. When the child has ended, the newest tail (at least a quarter of the cap, the end of
  the run where a traceback is) is appended to `train.log` after a line that says how many
  bytes were cut there;
- **free-space floor** (`--min-free-disk-mb`): output that would bring the log's file system
  under the floor is dropped, with one line saying so; writing resumes (with a line saying how
  much was dropped) once there is room again. A log is never a reason to fill the disk the
  runner's state lives on.

A pipe rather than the file itself as the child's stdout: only the writer can bound what is
written; the child blocks when the agent falls behind, it never loses output to a full pipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import IO

__all__ = ["TrialLog", "read_log_tail"]

log = logging.getLogger("meshtune_runner")

#: Free space is looked up again after this much output (a statvfs per MiB: cheap).
_FLOOR_CHECK_BYTES = 1 << 20
_READ_CHUNK = 1 << 16


class TrialLog:
    """Writes a child's output to `path` under a size cap and the runner's free-space floor.

    `start()` returns the write end of a pipe to give the child as stdout and stderr (the
    caller closes it once the child has it); a thread copies the read end until the child
    and its descendants have closed theirs. `close()` waits for that thread and puts the
    kept tail at the end of the file."""

    def __init__(self, path: Path, max_bytes: int, min_free_bytes: int = 0) -> None:
        self.path = path
        self.head_bytes = max(1, max_bytes // 2)
        self.segment_bytes = max(1, max_bytes // 4)
        self.min_free_bytes = min_free_bytes
        self.written = 0  # bytes in train.log itself
        self.cut = 0  # bytes rotated out of the tail (not kept)
        self.dropped = 0  # bytes not written for the free-space floor
        self._segments = [
            path.with_name(f"{path.name}.tail-0"),
            path.with_name(f"{path.name}.tail-1"),
        ]
        self._current = 0  # the segment being written
        self._segment_written = 0
        self._since_floor_check = _FLOOR_CHECK_BYTES  # check before the first write
        self._under_floor = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._head: IO[bytes] | None = None
        self._tail: IO[bytes] | None = None
        self.child_output: IO[bytes]

    def __enter__(self) -> TrialLog:
        self.child_output = self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.handed_over()
        self.close()

    def handed_over(self) -> None:
        """The child has its copy of the pipe's write end: close the agent's, so that the
        pump sees the end of the output when the child's processes have all ended."""
        if not self.child_output.closed:
            self.child_output.close()

    # -- the pump ---------------------------------------------------------------------------

    def start(self) -> IO[bytes]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._head = self.path.open("ab")
        self.written = self.path.stat().st_size
        read_fd, write_fd = os.pipe()
        self._thread = threading.Thread(
            target=self._pump, args=(read_fd,), name=f"log {self.path.parent.name}", daemon=True
        )
        self._thread.start()
        return os.fdopen(write_fd, "wb", buffering=0)

    def _pump(self, read_fd: int) -> None:
        try:
            while True:
                chunk = os.read(read_fd, _READ_CHUNK)
                if not chunk:
                    return
                self.write(chunk)
        except OSError as exc:  # the log is not worth stopping a trial for
            log.warning("%s: could not write the training log any more: %s", self.path, exc)
            with contextlib.suppress(OSError):
                while os.read(read_fd, _READ_CHUNK):  # keep the child from blocking
                    pass
        finally:
            os.close(read_fd)

    # -- writing ----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._closed or not data:
                return
            if not self._room_for(len(data)):
                return
            if self.written < self.head_bytes:
                assert self._head is not None
                part = data[: self.head_bytes - self.written]
                self._head.write(part)
                self._head.flush()
                self.written += len(part)
                data = data[len(part) :]
            while data:
                data = self._write_tail(data)

    def _room_for(self, size: int) -> bool:
        """False (the data dropped, counted, said once) while the disk is under the floor."""
        if self.min_free_bytes <= 0:
            return True
        self._since_floor_check += size
        if self._since_floor_check >= _FLOOR_CHECK_BYTES or self._under_floor:
            self._since_floor_check = 0
            try:
                free = shutil.disk_usage(self.path.parent).free
            except OSError:
                free = self.min_free_bytes + _FLOOR_CHECK_BYTES  # unknown: keep writing
            under = free - _FLOOR_CHECK_BYTES < self.min_free_bytes
            if under and not self._under_floor:
                self._note(
                    f"output dropped from here: the disk has less than this runner's floor of "
                    f"{self.min_free_bytes // 2**20} MiB free (--min-free-disk-mb)"
                )
            elif not under and self._under_floor:
                self._note(
                    f"{self.dropped} bytes of output dropped while the disk was under the floor"
                )
            self._under_floor = under
        if self._under_floor:
            self.dropped += size
            return False
        return True

    def _note(self, text: str) -> None:
        """A line of the runner's own in the log (outside the cap: a few bytes)."""
        line = f"\n[meshtune-runner: {text}]\n".encode()
        if self._tail is not None:
            self._tail.write(line)
            self._tail.flush()
        elif self._head is not None:
            self._head.write(line)
            self._head.flush()

    def _write_tail(self, data: bytes) -> bytes:
        if self._tail is None or self._segment_written >= self.segment_bytes:
            if self._tail is not None:
                self._tail.close()
                self._current = 1 - self._current
                self.cut += self._segment_written_before_rotation()
            self._tail = self._segments[self._current].open("wb")
            self._segment_written = 0
        part = data[: self.segment_bytes - self._segment_written]
        self._tail.write(part)
        self._tail.flush()
        self._segment_written += len(part)
        return data[len(part) :]

    def _segment_written_before_rotation(self) -> int:
        """Size of the segment about to be overwritten (its bytes are cut from the log)."""
        try:
            return self._segments[self._current].stat().st_size
        except OSError:
            return 0

    # -- the end ----------------------------------------------------------------------------

    def close(self, wait_seconds: float = 10.0) -> None:
        """Waits for the pump (the child's descendants may hold the pipe a moment longer),
        then appends the kept tail to `train.log`, saying how much was cut before it."""
        if self._thread is not None:
            self._thread.join(wait_seconds)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            head = self._head
            try:
                if self._tail is not None:
                    self._tail.close()
                if head is None:
                    return
                older, newer = self._segments[1 - self._current], self._segments[self._current]
                parts = [p for p in (older, newer) if p.is_file()]
                if self.cut:
                    head.write(
                        f"\n[meshtune-runner: {self.cut} bytes of this log cut here "
                        f"(--max-log-mb keeps its first {self.head_bytes} bytes and its last "
                        "part)]\n".encode()
                    )
                for part in parts:
                    with part.open("rb") as source:
                        shutil.copyfileobj(source, head)
                    part.unlink()
            except OSError as exc:
                log.warning("%s: could not append the log's tail: %s", self.path, exc)
            finally:
                if head is not None:
                    head.close()  # an OSError here is the caller's (agent.py's _close_log)


def read_log_tail(path: Path, lines: int, max_bytes: int = 1 << 16) -> list[str]:
    """The last `lines` lines of a log, read from its last `max_bytes` only (a log may be
    large), decoded leniently (a child may write any bytes)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace")
    if len(data) == max_bytes and size > max_bytes:
        text = text.split("\n", 1)[-1]  # the first line read is likely cut
    # "\n" only: a progress bar's carriage returns stay in their line (failure_text.py shows
    # what a terminal showed last).
    kept = text.split("\n")
    while kept and not kept[-1].strip():
        kept.pop()
    return kept[-lines:]
