#!/usr/bin/env bash
# Creates (once) the Python venv that runs Optuna for `npm run bench:service` and prints the path
# of its python. The venv lives outside the repository, keyed by the hash of requirements.txt,
# so changing a pinned version makes a fresh one and an unchanged file never reinstalls.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"
hash="$(sha256sum "$requirements" | cut -c1-12)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/meshtune/bench-service-venv-$hash"

if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.installed" ]; then
  echo "ensure-venv: creating $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$venv/.installed"
fi

echo "$venv/bin/python"
