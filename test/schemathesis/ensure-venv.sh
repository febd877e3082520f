#!/usr/bin/env bash
# Prints the path of a virtual environment holding test/schemathesis/requirements.txt, creating
# it on first use: ~/.cache/meshtune/schemathesis-venv-<hash of the requirements>/ (outside the repo).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hash="$(sha256sum "$here/requirements.txt" | cut -c1-12)"
venv="${MESHTUNE_CACHE_DIR:-$HOME/.cache/meshtune}/schemathesis-venv-$hash"
if [ ! -x "$venv/bin/schemathesis" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
echo "$venv"
