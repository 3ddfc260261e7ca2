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
  systemctl stop redis-server postgresql >/dev/null 2>&1 || true
fi
id postgres >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] || useradd --system --no-create-home postgres; }

# pgvector (the assistant's vector memory): Debian has no package, so the vendored source in
# third_party/pgvector is built against each installed PostgreSQL with its server headers.
# Built in a temporary copy (the checkout stays clean); OPTFLAGS="" keeps the library portable.
build_pgvector() {
  local pg_config=$1 build
  build=$(mktemp -d)
  cp -r "$(dirname "$0")/../third_party/pgvector/." "$build"
  make -s -C "$build" PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null
  make -s -C "$build" PG_CONFIG="$pg_config" OPTFLAGS="" install >/dev/null
  rm -rf "$build"
}
for bindir in /usr/lib/postgresql/*/bin; do
  major=$(basename "$(dirname "$bindir")")
  sharedir=/usr/share/postgresql/$major/extension
  [ -f "$sharedir/vector.control" ] && continue
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! [ -f "$("$bindir/pg_config" --includedir-server 2>/dev/null)/postgres.h" ]; then
    echo "installing: postgresql-server-dev-$major (to build pgvector)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "postgresql-server-dev-$major" make gcc >/dev/null
  fi
  echo "building pgvector for PostgreSQL $major"
  build_pgvector "$bindir/pg_config"
done

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
