#!/usr/bin/env bash
# Usage: ensure-venv.sh REQUIREMENTS NAME
# Creates (once) the Python venv a benchmark's reference runs in (NOMAD 4 for bench:engine, Optuna
# for bench:service) and prints the path of its python. The venv lives outside the repository,
# in ~/.cache/meshtune/NAME-<hash of REQUIREMENTS>, so changing a pinned version makes a fresh one
# and an unchanged file never reinstalls.
set -euo pipefail

requirements="$1"
name="$2"
python="${PYTHON:-python3}"
hash="$(sha256sum "$requirements" | cut -c1-12)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/meshtune/$name-$hash"

mkdir -p "$(dirname "$venv")"
# One creator at a time: two benchmarks started together (or a benchmark and CI) would otherwise
# both see no venv, and the second's `rm -rf` would delete the first's half-installed one.
exec 9>"$venv.lock"
flock 9

if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.installed" ]; then
  echo "ensure-venv: creating $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$venv/.installed"
fi

echo "$venv/bin/python"
