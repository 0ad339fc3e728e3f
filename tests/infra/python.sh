#!/usr/bin/env bash
# The Python tools the end-to-end API tests drive the gateway with, in one venv:
#   schemathesis           — OpenAPI-driven fuzzing of the HTTP API (tests/e2e/gateway/fuzz.test.ts)
#   openai                 — the official Python client (tests/e2e/gateway/python-client.test.ts)
#   openapi-spec-validator — validates /openapi.json against the OpenAPI 3.1 meta-schema
# From PyPI only. Idempotent: the venv is (re)built only when this file's pins change.
#
#   bash tests/infra/python.sh        create/update the venv; prints its bin directory last
set -euo pipefail

PY_HOME="${OUTERLOOP_PY_HOME:-/var/tmp/outerloop-py}"
PYTHON="${OUTERLOOP_PYTHON:-python3}"
REQUIREMENTS=(
  "schemathesis==4.32.5"
  "openai==3.51.0"
  "openapi-spec-validator==0.9.0"
)

command -v "$PYTHON" >/dev/null || { echo "[python.sh] $PYTHON not found (needs Python ≥ 3.9 with venv)" >&2; exit 1; }
stamp="$PY_HOME/.requirements"
wanted="$(printf '%s\n' "${REQUIREMENTS[@]}")"
if [[ -x "$PY_HOME/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "$PY_HOME/bin"
  exit 0
fi

# A concurrent run (two test files at once) must not build the same venv twice.
exec 9>"$PY_HOME.lock"
flock 9
if [[ -x "$PY_HOME/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "$PY_HOME/bin"
  exit 0
fi
echo "[python.sh] installing ${REQUIREMENTS[*]} into $PY_HOME" >&2
rm -rf "$PY_HOME"
"$PYTHON" -m venv "$PY_HOME"
"$PY_HOME/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${REQUIREMENTS[@]}" >&2
printf '%s' "$wanted" >"$stamp"
echo "$PY_HOME/bin"
