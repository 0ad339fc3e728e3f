#!/usr/bin/env bash
# Prometheus and promtool from Debian's `prometheus` package, for the alert-rule
# unit tests (promtool test rules) and the monitoring end-to-end test, which
# starts its own `prometheus` on a temporary data dir. Debian's systemd service
# is never used (and is stopped if the package started it).
# Idempotent: returns at once when both binaries are on PATH.
#
#   bash tests/infra/prometheus.sh   install if missing; prints the promtool path
set -euo pipefail

say() { echo "[prometheus.sh] $*" >&2; }

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
[[ "$(id -u)" == 0 ]] || { say "Prometheus is not installed and this is not root: apt-get install -y prometheus"; exit 1; }
say "installing Prometheus from Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: the package must not start its daemon (or its node exporter);
# tests start their own prometheus with their own config and data dir.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
status=0
apt-get install -y -qq --no-install-recommends prometheus >/dev/null || status=$?
((created_policy == 0)) || rm -f "$policy"
((status == 0)) || { say "apt-get install prometheus failed ($status)"; exit "$status"; }
command -v promtool >/dev/null 2>&1 || { say "apt-get installed prometheus but promtool is not on PATH"; exit 1; }
command -v promtool
