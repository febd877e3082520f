"""meshtune-runner: the GPU agent of meshtune (lease a trial, LoRA fine-tune, report)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
