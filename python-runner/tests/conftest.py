from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshtune_runner.demo_assets import DemoAssets, build_demo_assets

from .fake_api import FakeApi

# Two shared CPU cores: keep each torch process to one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def demo_assets(tmp_path_factory: pytest.TempPathFactory) -> DemoAssets:
    """The tiny Llama, its tokenizer and the synthetic data, built once per test session."""
    return build_demo_assets(tmp_path_factory.mktemp("demo-assets"))


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def api(demo_assets: DemoAssets) -> FakeApi:
    """The in-memory API with a trainingConfig on the demo assets (agent and adapter tests)."""
    config = {
        "model": str(demo_assets.model_dir),
        "trainData": str(demo_assets.train_data),
        "evalData": str(demo_assets.eval_data),
    }
    return FakeApi(training_config=config)
