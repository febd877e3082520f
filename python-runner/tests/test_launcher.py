from __future__ import annotations

import sys
from pathlib import Path

import pytest

from meshtune_runner.gpus import detect_gpus, select_gpus
from meshtune_runner.launcher import build_command


def test_one_device_runs_the_worker_directly() -> None:
    assert build_command(Path("/s.json"), [], "torchrun", "py") == [
        "py",
        "-m",
        "meshtune_runner.worker",
        "/s.json",
    ]
    assert build_command(Path("/s.json"), ["3"], "torchrun", "py")[:3] == [
        "py",
        "-m",
        "meshtune_runner.worker",
    ]


def test_several_gpus_use_torchrun_or_accelerate() -> None:
    assert build_command(Path("/s.json"), ["0", "1", "2", "3"], "torchrun", "py") == [
        "py",
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "4",
        "-m",
        "meshtune_runner.worker",
        "/s.json",
    ]
    assert build_command(Path("/s.json"), ["0", "1"], "accelerate", "py") == [
        "py",
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "-m",
        "meshtune_runner.worker",
        "/s.json",
    ]


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\nprintf '0, 81920\\n1, 81920\\n2, 40960\\n3, 40960\\n'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.mark.usefixtures("fake_nvidia_smi")
def test_gpus_are_detected_with_their_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(g.index, g.memory_mb) for g in detect_gpus()] == [
        ("0", 81920),
        ("1", 81920),
        ("2", 40960),
        ("3", 40960),
    ]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert [g.index for g in select_gpus("auto")] == ["2", "3"]
    assert [(g.index, g.memory_mb) for g in select_gpus("1,2")] == [("1", 81920), ("2", 40960)]
    assert select_gpus("none") == []
    with pytest.raises(ValueError, match="--gpus"):
        select_gpus("first")


def test_no_nvidia_smi_means_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert detect_gpus() == []
    assert sys.executable  # the runner itself is started by path, not found on PATH
