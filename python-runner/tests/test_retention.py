from __future__ import annotations

import json
from pathlib import Path

from meshtune_runner.retention import MANIFEST_NAME, KeptAdapter, keep_adapter


def test_keep_adapter_returns_the_kept_folder_and_the_size_it_measured(tmp_path: Path) -> None:
    source = tmp_path / "output" / "adapter"
    (source / "sub").mkdir(parents=True)
    (source / "adapter_model.safetensors").write_bytes(b"x" * 1000)
    (source / "sub" / "config.json").write_bytes(b"y" * 24)
    study_root = tmp_path / "kept" / "study-1"

    kept = keep_adapter(source, study_root, "trial-00001", {"trialId": "t1"}, keep=None)

    # The size is the adapter's files, measured before the copy: the manifest is not counted.
    assert kept == KeptAdapter(study_root / "trial-00001", 1024)
    assert json.loads((kept.path / MANIFEST_NAME).read_text())["adapterDir"] == str(kept.path)
    assert (kept.path / "sub" / "config.json").read_bytes() == b"y" * 24
    assert not source.exists()
