#!/usr/bin/env bash
# `npm run check:deploy`: the deployment templates, checked offline (CI runs it).
#   - Kubernetes manifests against the Kubernetes schemas (kubernetes-validate from PyPI, --strict:
#     unknown fields fail too), in a venv under ~/.cache/meshtune keyed on scripts/deploy/requirements.txt;
#   - the Slurm script and the repository's shell scripts with shellcheck (Debian's);
#   - docker-compose.yml's runner settings (scripts/deploy/check_compose.py).
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/deploy/requirements.txt
cache_root="${MESHTUNE_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/meshtune}"
venv="$cache_root/deploy-venv-$(sha256sum "$requirements" | cut -c1-16)"
if [[ ! -f "$venv/.complete" ]]; then
  echo "check:deploy: creating $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$venv/.complete"
fi

if ! command -v shellcheck >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else
    echo "check:deploy: shellcheck is missing; run: sudo apt-get install -y shellcheck" >&2
    exit 1
  fi
fi

status=0
echo "== check:deploy: Kubernetes manifests (kubernetes-validate --strict)"
mapfile -t manifests < <(find api/deploy/k8s python-runner/deploy/k8s -name '*.yaml' | sort)
"$venv/bin/kubernetes-validate" --strict "${manifests[@]}" || status=1

echo "== check:deploy: shell scripts (shellcheck)"
mapfile -t scripts < <(find python-runner/deploy/slurm -name '*.sbatch'; find scripts python-runner/scripts -name '*.sh' | sort)
shellcheck --shell=bash "${scripts[@]}" && echo "shellcheck: ${#scripts[@]} scripts clean" || status=1

echo "== check:deploy: docker-compose.yml"
"$venv/bin/python" scripts/deploy/check_compose.py docker-compose.yml || status=1

exit "$status"
