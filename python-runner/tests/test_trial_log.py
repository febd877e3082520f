"""The training child's log under its size cap and the runner's free-space floor (unit)."""

from __future__ import annotations

import os
from pathlib import Path

from meshtune_runner.trial_log import TrialLog, read_log_tail


def test_output_under_the_disk_floor_is_dropped_and_the_log_says_so(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    with TrialLog(path, max_bytes=2**20, min_free_bytes=10**18) as log:  # above any disk
        log.write(b"lost line\n")
        log.min_free_bytes = 1  # room again
        log.write(b"kept line\n")
    text = path.read_text(encoding="utf-8")
    assert "lost line" not in text and "kept line\n" in text
    assert "output dropped from here: the disk has less than this runner's floor" in text
    assert "10 bytes of output dropped while the disk was under the floor" in text
    assert log.dropped == 10


def test_the_pipe_carries_the_childs_output_and_the_tail_is_read_by_lines(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    with TrialLog(path, max_bytes=4096) as log:
        os.write(log.child_output.fileno(), b"".join(b"line %04d\n" % i for i in range(1000)))
    # 10,000 bytes under a 4,096-byte cap: the first 2,048 bytes, a line saying what was cut,
    # and at least the last 1,024.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("line 0000\n") and text.endswith("line 0999\n")
    assert "bytes of this log cut here" in text
    assert len(text) <= 4096 + 200
    assert read_log_tail(path, 2) == ["line 0998", "line 0999"]
    # A progress bar's carriage returns stay in their line; a cut first line is dropped.
    path.write_bytes(b"x" * 100 + b"\nbar 10%\rbar 90%\r\n")
    assert read_log_tail(path, 5, max_bytes=50) == ["bar 10%\rbar 90%\r"]
