"""Whether a Hugging Face hub model can be loaded on this runner without the network.

A study may name a hub id (`"model": "org/name"`). An offline runner (HF_HUB_OFFLINE) loads it
from its hub cache or not at all, and a runner whose network is down fails the same way. Either
is this runner's lack, not the point's: another runner may have the model cached or reach the
hub. So both are declined, not failed (docs/runner.md, "Whose fault a refusal is"): the agent
checks the cache before it starts a child (`hub_snapshot_cached`), and the child classes a load
that failed for want of the cache as the same lack (`missing_from_hub_cache`).
"""

from __future__ import annotations

import os

__all__ = ["hub_offline", "hub_snapshot_cached", "missing_from_hub_cache"]

#: The spellings huggingface_hub takes as "on" for HF_HUB_OFFLINE (its constants module).
_TRUE = {"1", "ON", "YES", "TRUE"}


def hub_offline() -> bool:
    """Whether this process may not reach the hub (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE)."""
    return any(
        os.environ.get(name, "").strip().upper() in _TRUE
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_snapshot_cached(repo_id: str) -> bool:
    """Whether the hub cache holds a snapshot of `repo_id` (its default revision). An id the
    hub would refuse (HFValidationError) counts as cached: no runner can load it, so the child
    fails it as the point's, as before."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        snapshot_download(repo_id=repo_id, local_files_only=True)
    except LocalEntryNotFoundError:
        return False
    except HFValidationError:
        return True
    return True


def missing_from_hub_cache(exc: BaseException) -> bool:
    """Whether a failed `from_pretrained` failed because the files were neither in the hub cache
    nor reachable (transformers wraps huggingface_hub's LocalEntryNotFoundError in an OSError)."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    seen: set[int] = set()
    current: BaseException | None = exc
    # The cause/context chain can loop (transformers re-raises inside its own handler).
    while current is not None and id(current) not in seen:
        if isinstance(current, LocalEntryNotFoundError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
