#!/usr/bin/env bash
# `npm run test:images`: builds both images with buildah, as root, from bases bootstrapped here
# (scripts/images/bootstrap-bases.sh; no image registry is reachable), then runs them:
#   - the API image's own command against a real PostgreSQL (DATABASE_URL, over TCP): /health/ready
#     must answer 200, / must serve the dashboard, an admin-key request must succeed, SIGTERM must stop it;
#   - the runner image's entrypoint (--help) and its Python stack (torch, transformers, peft import).
# Slow (the runner image installs torch from PyPI), so not part of `npm test`; timings in docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ "$(id -u)" != 0 ]]; then
  echo "test:images: buildah --isolation chroot needs root here; run it as root" >&2
  exit 1
fi
missing=()
for tool in buildah:buildah debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if ((${#missing[@]} > 0)); then
  echo "== images: installing ${missing[*]} (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot

api_image=localhost/meshtune-api:test
runner_image=localhost/meshtune-runner:test
timings=()
timed() { # <label> <command...>
  local label="$1" start=$SECONDS
  shift
  "$@"
  timings+=("$(printf '%-34s %4ss' "$label" $((SECONDS - start)))")
}

echo "== images: base images (debootstrap + buildah)"
start=$SECONDS
bases="$(bash scripts/images/bootstrap-bases.sh | tail -1)"
timings+=("$(printf '%-34s %4ss' "base images" $((SECONDS - start)))")
read -r node_tag debian_tag <<<"$bases"
expected="$(awk '/^FROM node:/ { print $2; exit }' api/Dockerfile)"
if [[ "$expected" != "$node_tag" ]]; then
  echo "test:images: api/Dockerfile builds FROM $expected but this machine's Node gives $node_tag;" >&2
  echo "  package.json engines, the Dockerfile and CI's Node must agree (docs/development.md, 'Node')" >&2
  exit 1
fi

work="$(mktemp -d /tmp/meshtune-images.XXXXXX)"
chmod 755 "$work"
pids=()
containers=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ctr in "${containers[@]}"; do buildah rm "$ctr" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# This machine reaches the registries through a TLS proxy whose CA is in its system bundle; npm and
# pip inside the build see that bundle through bind mounts (RUN steps only), so no image keeps it.
trust="$work/build-trust"
mkdir -p "$trust"
cp /etc/ssl/certs/ca-certificates.crt "$trust/ca.crt"
echo "cafile=/run/meshtune-build-trust/ca.crt" >"$trust/npmrc"
printf '[global]\ncert = /run/meshtune-build-trust/ca.crt\n' >"$trust/pip.conf"
build_trust=(-v "$trust:/run/meshtune-build-trust:ro" -v "$trust/npmrc:/usr/etc/npmrc:ro" -v "$trust/pip.conf:/etc/pip.conf:ro")

# MESHTUNE_IMAGES_REUSE=1 runs the images already built (after a change to this script's checks only).
if [[ "${MESHTUNE_IMAGES_REUSE:-0}" == 1 ]] && buildah inspect --type image "$api_image" >/dev/null 2>&1 &&
  buildah inspect --type image "$runner_image" >/dev/null 2>&1; then
  echo "== images: MESHTUNE_IMAGES_REUSE=1: running the images built before, not building"
else
  echo "== images: API image ($api_image)"
  timed "API image build" buildah bud --quiet --layers "${build_trust[@]}" -f api/Dockerfile -t "$api_image" . >/dev/null
  echo "== images: runner image ($runner_image, CUDA_IMAGE=$debian_tag)"
  timed "runner image build" buildah bud --quiet --layers "${build_trust[@]}" --build-arg CUDA_IMAGE="$debian_tag" \
    -t "$runner_image" python-runner >/dev/null
fi

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

echo "== images: runner entrypoint"
runner_ctr="$(buildah from "$runner_image")"
containers+=("$runner_ctr")
# shellcheck disable=SC2207 # the entrypoint is a JSON array of words without spaces
entrypoint=($(buildah inspect --format '{{range .OCIv1.Config.Entrypoint}}{{.}} {{end}}' "$runner_image"))
buildah run "$runner_ctr" -- "${entrypoint[@]}" --help >"$work/runner-help.txt"
grep -q -- '--gpus' "$work/runner-help.txt" || { cat "$work/runner-help.txt"; echo "runner --help lacks --gpus" >&2; exit 1; }
buildah run "$runner_ctr" -- python -c 'import torch, transformers, peft; print("runner image: torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'

echo "== images: API image against PostgreSQL"
pg_port="$(free_port)"
node scripts/images/postgres.mjs "$work/postgres" "$pg_port" >"$work/postgres.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do grep -q '^ready ' "$work/postgres.out" && break; sleep 0.5; done
database_url="$(awk '/^ready / { print $2 }' "$work/postgres.out")"
[[ -n "$database_url" ]] || { cat "$work/postgres.out"; echo "test:images: PostgreSQL did not start" >&2; exit 1; }

api_port="$(free_port)"
admin_key="images-test-admin-$(date +%s)-key"
api_ctr="$(buildah from "$api_image")"
containers+=("$api_ctr")
# shellcheck disable=SC2207 # the command is a JSON array of words without spaces
command=($(buildah inspect --format '{{range .OCIv1.Config.Cmd}}{{.}} {{end}}' "$api_image"))
start=$SECONDS
# chroot isolation shares this machine's network: the API listens on 127.0.0.1:$api_port here.
buildah run --env DATABASE_URL="$database_url" --env PORT="$api_port" --env HOST=127.0.0.1 \
  --env MESHTUNE_ADMIN_KEY="$admin_key" "$api_ctr" -- "${command[@]}" >"$work/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
ready=""
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$api_port/health/ready" >"$work/ready.json" 2>/dev/null; then ready=1; break; fi
  kill -0 "$api_pid" 2>/dev/null || break
  sleep 0.5
done
if [[ -z "$ready" ]]; then
  tail -40 "$work/api.log"
  echo "test:images: the API image never answered /health/ready" >&2
  exit 1
fi
timings+=("$(printf '%-34s %4ss' "API image: start to /health/ready" $((SECONDS - start)))")
echo "/health/ready: $(cat "$work/ready.json")"
curl -fsS "http://127.0.0.1:$api_port/" >"$work/index.html"
grep -qi '<div id="app"\|<script' "$work/index.html" || { head -c 500 "$work/index.html"; echo "test:images: / is not the dashboard" >&2; exit 1; }
echo "dashboard: / serves $(wc -c <"$work/index.html") bytes of HTML"
curl -fsS -H "Authorization: Bearer $admin_key" "http://127.0.0.1:$api_port/v1/api-keys" >/dev/null
echo "admin key: GET /v1/api-keys answered 200"
# SIGTERM to the API's own process (chroot isolation shares the PID space): `buildah run` itself
# would SIGKILL its child on SIGTERM, which is not how a container runtime stops a container.
descendants() { local child; for child in $(ps -o pid= --ppid "$1"); do echo "$child"; descendants "$child"; done; }
node_pid="$(for pid in $(descendants "$api_pid"); do [[ "$(ps -o comm= -p "$pid")" == node ]] && echo "$pid"; done | head -1)"
[[ -n "$node_pid" ]] || { echo "test:images: cannot find the API's node process" >&2; exit 1; }
kill -TERM "$node_pid"
if wait "$api_pid"; then
  echo "SIGTERM: the API exited 0"
else
  tail -20 "$work/api.log"
  echo "test:images: the API did not exit cleanly on SIGTERM" >&2
  exit 1
fi

echo
echo "== images: timings"
printf '  %s\n' "${timings[@]}"
buildah images --format '  {{.Name}}:{{.Tag}} {{.Size}}' | grep -E 'meshtune-(api|runner)' || true
echo "test:images: passed"
