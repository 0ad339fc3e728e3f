#!/usr/bin/env bash
# Debian's chromium for the web console's browser tests (tests/e2e/console), driven by
# playwright-core; Playwright's own browser download cannot reach its host here.
# Idempotent: installs only when /usr/bin/chromium is missing.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then echo "[chromium.sh] /usr/bin/chromium is missing and installing it needs root" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
echo "[chromium.sh] installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)" >&2
