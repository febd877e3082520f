#!/usr/bin/env bash
# `npm test`: build once, then run EVERY suite and report each; exit non-zero at the end if any failed.
# Suites are not chained with && on purpose: a failing Node suite must not hide the Python suite's result.
#
# What the suites need and this script provisions on a fresh Debian machine:
#   - Debian's chromium and python3-venv (see provision_debian_packages below);
#   - the runner's virtual environment (python-runner/scripts/ensure-venv.sh creates it once from PyPI).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

declare -a names=() results=() seconds=()
record() { names+=("$1"); results+=("$2"); seconds+=("$3"); }
run_suite() {
  local name="$1" start=$SECONDS
  shift
  echo "== test: $name"
  if "$@"; then record "$name" passed $((SECONDS - start)); else record "$name" FAILED $((SECONDS - start)); fi
}

# Debian packages the suites need: chromium (dashboard tests, driven by playwright-core; never a
# downloaded browser) and python3-venv (the runner's virtual environment). Installed with apt-get when
# missing and we are root; otherwise the run fails at the end with the one command to run, but the
# other suites still run and report.
provision_debian_packages() {
  local chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}" missing=()
  [[ -x "$chromium_path" ]] || missing+=(chromium)
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  ((${#missing[@]} == 0)) && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${missing[*]}; installing from Debian (apt-get install ${missing[*]})"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null && return 0
  fi
  echo "test: missing Debian packages (${missing[*]}). Run once:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  [[ " ${missing[*]} " == *" chromium "* ]] && echo "(or set CHROMIUM_PATH to another chromium build)" >&2
  return 1
}
run_suite "Debian packages (chromium, python3-venv)" provision_debian_packages

# The runner's virtual environment, before any suite: the Node suite's doc-tests run
# `ensure-venv.sh` as docs/runner.md writes it, under a per-command timeout that a first download of
# torch (several minutes) would exceed on a fresh machine. Created once; later runs find it.
provision_runner_venv() { python-runner/scripts/ensure-venv.sh >/dev/null; }
run_suite "runner virtual environment (PyPI, once per lock file)" provision_runner_venv

echo "== test: build"
if ! npm run --silent build; then
  echo "test: build FAILED; no suite can run" >&2
  exit 1
fi

# The node and runner suites run side by side (docs/benchmarks.md, "CI time"): each took about 20
# minutes alone and each leaves the 2 cores mostly idle (the node suite waits on its API, embedded
# PostgreSQL and timers). The runner suite runs under `nice`, so a node spec that waits on the
# clock gets the CPU first; its output is kept in a file and printed whole once it ends, so the two
# logs do not interleave.
runner_name="runner (python: ruff, mypy, pytest)"
runner_log=$(mktemp) runner_result=$(mktemp)
(
  start=$SECONDS
  if nice -n 10 npm run --silent test:runner >"$runner_log" 2>&1; then result=passed; else result=FAILED; fi
  echo "$result $((SECONDS - start))" >"$runner_result"
) &
runner_pid=$!
echo "== test: $runner_name: started beside the node suite (its output follows the node suite's)"
run_suite "node (api, sdk, dashboard)" npm run --silent test:node
wait "$runner_pid"
echo "== test: $runner_name"
cat "$runner_log"
read -r result secs <"$runner_result" || true
record "$runner_name" "${result:-FAILED}" "${secs:-0}"
rm -f "$runner_log" "$runner_result"

echo
echo "== test: summary"
failed=0
for i in "${!names[@]}"; do
  printf '  %-40s %-7s %5ss\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}"
  [[ "${results[$i]}" == passed ]] || failed=1
done
if ((failed)); then
  echo "test: at least one suite FAILED (see above)" >&2
  exit 1
fi
echo "test: all suites passed"
