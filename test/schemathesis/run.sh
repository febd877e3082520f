#!/usr/bin/env bash
# Schemathesis over the whole OpenAPI document of a real API (embedded PostgreSQL in a temporary
# folder): no 5xx, responses conform to the document, every 4xx carries the error body, and no
# request takes more than SCHEMATHESIS_MAX_RESPONSE_TIME seconds (default 1: a quiet machine).
# Needs a build (npm run build). Env: MESHTUNE_DIST (default dist), SCHEMATHESIS_MAX_EXAMPLES (default 25).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
dist="${MESHTUNE_DIST:-dist}"
venv="$(test/schemathesis/ensure-venv.sh)"
work="$(mktemp -d -t meshtune-schemathesis-XXXXXX)"
# As root the embedded server runs as the postgres user, which must be able to enter the folder.
chmod 755 "$work"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
admin_key="mt_admin_schemathesis_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
url="http://127.0.0.1:$port"

# Request budgets and in-flight bounds off: schemathesis sends its cases back to back with one admin key, and 429s would
# stand in for the routes' own answers.
PORT="$port" HOST=127.0.0.1 MESHTUNE_DATA_DIR="$work/data" MESHTUNE_ADMIN_KEY="$admin_key" \
  MESHTUNE_LOG_LEVEL=warn MESHTUNE_AUTH_FAILURES_PER_MINUTE=1000000 \
  MESHTUNE_RATE_LIMIT_KEY_PER_SECOND=0 MESHTUNE_RATE_LIMIT_PROJECT_PER_SECOND=0 \
  MESHTUNE_RATE_LIMIT_EXPENSIVE_PER_SECOND=0 MESHTUNE_RATE_LIMIT_KEY_IN_FLIGHT=0 \
  MESHTUNE_RATE_LIMIT_PROJECT_IN_FLIGHT=0 \
  node "$dist/api/src/main.js" >"$work/api.log" 2>&1 &
api_pid=$!
cleanup() {
  kill -TERM "$api_pid" 2>/dev/null || true
  wait "$api_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
  curl -fsS "$url/health/ready" >/dev/null 2>&1 && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log"; exit 1; }
  sleep 0.2
done
curl -fsS "$url/health/ready" >/dev/null

# A user key for the study routes would get 403 on admin routes; the admin key passes every scope check
# (runner-token routes answer 403 to it: the runner protocol is covered by the e2e tests).
status=0
SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$root/test/schemathesis" \
  "$venv/bin/schemathesis" run "$url/openapi.json" \
  --header "Authorization: Bearer $admin_key" \
  --checks not_a_server_error,response_schema_conformance,error_body \
  --max-response-time "${SCHEMATHESIS_MAX_RESPONSE_TIME:-1}" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --workers 1 \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --no-color "$@" || status=$?
if grep -q '"level":"error"' "$work/api.log"; then
  echo "== API errors logged during the run:"
  grep '"level":"error"' "$work/api.log" | head -20
fi
exit "$status"
