#!/usr/bin/env bash
# Creates (once) the runner's virtual environment outside the repository and prints its path.
# The venv is keyed on the sha256 of requirements.lock, so changing a pin makes a fresh one;
# an existing venv is reused as is (torch alone is several GB). The runner package itself is
# installed editable, re-pointed only when the venv was made from another checkout.
set -euo pipefail

runner_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${MESHTUNE_PYTHON:-python3}"
lock_sha="$(sha256sum "$runner_dir/requirements.lock" | cut -c1-16)"
cache_root="${MESHTUNE_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/meshtune}"
venv="$cache_root/venv-$lock_sha"

mkdir -p "$cache_root"
# One creator at a time (CI and the demo may call this together); the others wait and reuse.
exec 9>"$cache_root/.venv-$lock_sha.lock"
flock 9

if [[ ! -f "$venv/.complete" ]]; then
  echo "ensure-venv: creating $venv (this downloads torch; several minutes)" >&2
  rm -rf "$venv"
  "$python_bin" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -r "$runner_dir/requirements.lock" >&2
  touch "$venv/.complete"
fi

# Optional extras go on top of the same venv, each keyed on its own lock, so that adding or
# changing one does not download torch again: the harness (lm-eval, for 5-shot MMLU of kept
# adapters), QLoRA (bitsandbytes, for studies with `quantization: "nf4"`), the object store
# (s3fs, for an `adapterDir` URL) and the tests' local S3 endpoint (moto).
for extra_lock in "$runner_dir"/requirements-{harness,qlora,objectstore,test}.lock; do
  [[ -f "$extra_lock" ]] || continue
  extra_sha="$(sha256sum "$extra_lock" | cut -c1-16)"
  extra_name="$(basename "$extra_lock" .lock)"
  if [[ ! -f "$venv/.${extra_name#requirements-}-$extra_sha" ]]; then
    echo "ensure-venv: installing $extra_lock into $venv" >&2
    "$venv/bin/python" -m pip install --quiet -r "$extra_lock" >&2
    touch "$venv/.${extra_name#requirements-}-$extra_sha"
  fi
done

if [[ "$(cat "$venv/.runner-src" 2>/dev/null || true)" != "$runner_dir" ]]; then
  "$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$runner_dir" >&2
  echo "$runner_dir" > "$venv/.runner-src"
fi

echo "$venv"
