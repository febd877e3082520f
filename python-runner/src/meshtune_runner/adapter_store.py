"""Adapters sent to an object store: an `adapterDir` (or `--adapter-dir`) that is a URL such as
`s3://bucket/prefix` or `gs://bucket/prefix` instead of a path.

The agent keeps every adapter on its own disk first (`retention.keep_adapter`); with a URL it then
uploads that folder to `<url>/<studyId>/<trial folder>/` through fsspec and reports the URL as the
adapter's location. The storage libraries are an optional extra (`pip install
./python-runner[objectstore]`: fsspec and s3fs); credentials and endpoints come from the store's
usual environment (for S3: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL` for an
S3-compatible service such as MinIO or Ceph). Object stores have no atomic folder rename, so the
manifest is written last: a folder with a `meshtune-trial.json` is complete.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from tenacity import (
    retry,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from .retention import MANIFEST_NAME

__all__ = ["ObjectStoreError", "is_store_url", "join_store_url", "upload_adapter"]

log = logging.getLogger("meshtune_runner")

#: `scheme://…` with a scheme of two or more letters (one letter is a Windows drive, `C:\…`)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


class ObjectStoreError(Exception):
    """The adapter could not be uploaded (library missing, store refused, retries spent)."""


def is_store_url(location: str | Path | None) -> bool:
    """True for `s3://…`, `gs://…`, `file://…` and other fsspec URLs; False for a path."""
    return isinstance(location, str) and _URL.match(location) is not None


def join_store_url(url_root: str, study_id: str, name: str) -> str:
    """The URL of a kept adapter's folder: `<url_root>/<study_id>/<name>`."""
    return f"{url_root.rstrip('/')}/{study_id}/{name}"


def upload_adapter(local: Path, url_root: str, study_id: str, name: str) -> str:
    """Uploads the kept adapter folder `local` to `<url_root>/<study_id>/<name>/`, manifest
    last, and returns that folder's URL. Transient store errors are retried (5 tries,
    exponential back-off from 1 s); a refusal (no such bucket, access denied) and anything
    else raise ObjectStoreError at once."""
    try:
        import fsspec
    except ImportError as exc:  # the optional extra is not installed on this runner
        raise ObjectStoreError(
            f"adapterDir {url_root!r} is a URL but fsspec is not installed "
            "(pip install ./python-runner[objectstore])"
        ) from exc
    try:
        # A fresh client per upload: fsspec's instance cache would keep a client bound to the
        # endpoint and credentials of the first upload for the life of the runner.
        fs, root = fsspec.core.url_to_fs(url_root, skip_instance_cache=True)
    except (ImportError, ValueError) as exc:  # e.g. s3fs missing for s3://, an unknown scheme
        raise ObjectStoreError(f"adapterDir {url_root!r}: {exc}") from exc
    remote = f"{root.rstrip('/')}/{study_id}/{name}"
    files = sorted(p for p in local.rglob("*") if p.is_file())
    manifest = local / MANIFEST_NAME
    ordered = [p for p in files if p != manifest] + ([manifest] if manifest.is_file() else [])
    try:
        for path in ordered:
            _put(fs, path, f"{remote}/{path.relative_to(local).as_posix()}")
    except Exception as exc:  # the store library's own errors (botocore's are not OSError)
        raise ObjectStoreError(f"upload of {local} to {url_root!r} failed: {exc}") from exc
    return join_store_url(url_root, study_id, name)


@retry(
    # Connection errors, timeouts and 5xx are worth another try. s3fs and gcsfs map "no such
    # bucket" to FileNotFoundError and 403 to PermissionError: retrying those (or a bad
    # argument) only delays the fallback to the runner's disk.
    retry=retry_if_not_exception_type(
        (FileNotFoundError, PermissionError, ValueError, TypeError, ImportError)
    ),
    stop=stop_after_attempt(5),
    wait=wait_exponential(multiplier=1, max=30),
    reraise=True,
)
def _put(fs: Any, source: Path, target: str) -> None:
    fs.put_file(str(source), target)
