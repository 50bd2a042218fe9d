#!/usr/bin/env bash
# One-time (cached) nginx for the two-replica router test (test/server/router.test.ts) and `lockstep bench serve`:
# nginx on the PATH when there is one; otherwise Debian's `nginx` package (the binary alone) downloaded and extracted
# into a cache folder, not installed. Installing the package would start a system nginx on port 80 from its postinst;
# the tests run their own nginx on a high port with a config in a temp dir, so only the binary is needed. The
# download uses the system's apt sources with private lists, so it needs no root; only libraries the binary lacks
# are apt-installed (root or sudo), through test/apt-install.sh.
#
#   bash test/router/setup.sh                    # prints the nginx binary's path
#   LOCKSTEP_ROUTER_SKIP_APT=1 bash …            # never call apt-get install (fails if a library is missing)
#
# Caches in ${LOCKSTEP_NGINX_CACHE:-$HOME/.cache/lockstep-nginx}. Progress goes to stderr; stdout is only the path.
# Exits non-zero on failure.
set -euo pipefail

CACHE="${LOCKSTEP_NGINX_CACHE:-${HOME:-/root}/.cache/lockstep-nginx}"
DEST="$CACHE/nginx"
BIN="$DEST/root/usr/sbin/nginx"

log() { printf '[router-setup] %s\n' "$*" >&2; }

if command -v nginx >/dev/null 2>&1; then
  command -v nginx
  exit 0
fi

if [ -f "$DEST/.complete" ] && [ -x "$BIN" ]; then
  log "nginx already in $DEST"
else
  command -v apt-get >/dev/null 2>&1 || { log "no nginx on the PATH and no apt-get to fetch Debian's"; exit 1; }
  log "fetching Debian's nginx package into $DEST"
  rm -rf "$DEST"
  mkdir -p "$DEST/apt/lists/partial" "$DEST/apt/archives/partial" "$DEST/root"
  # The system's sources, private lists and archives: no root, and the system's apt state is untouched.
  apt_opts=(-o "Dir::State::Lists=$DEST/apt/lists" -o "Dir::Cache::Archives=$DEST/apt/archives"
            -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
  for attempt in 1 2 3; do
    if apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 &&
       (cd "$DEST/apt/archives" && apt-get "${apt_opts[@]}" download -qq nginx >/dev/null 2>&1); then
      break
    fi
    [ "$attempt" -lt 3 ] || { log "could not download Debian's nginx package"; exit 1; }
    log "download failed (attempt $attempt); retrying in 10 s"; sleep 10
  done
  for deb in "$DEST"/apt/archives/*.deb; do dpkg-deb -x "$deb" "$DEST/root"; done
  rm -rf "$DEST/apt"
  [ -x "$BIN" ] || { log "the nginx package holds no usr/sbin/nginx"; exit 1; }
  touch "$DEST/.complete"
fi

# Its shared libraries (PCRE2, OpenSSL, zlib) are on most Debian systems; install those that are missing.
missing_libs="$(ldd "$BIN" | awk '/not found/ {print $1}')"
if [ -n "$missing_libs" ]; then
  need_pkgs=()
  for p in libpcre2-8-0 libssl3 zlib1g libcrypt1; do dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p"); done
  # shellcheck source=../apt-install.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh"
  apt_install LOCKSTEP_ROUTER_SKIP_APT "${need_pkgs[@]}" >&2 || exit 1
  missing_libs="$(ldd "$BIN" | awk '/not found/ {print $1}')"
  [ -z "$missing_libs" ] || { log "nginx cannot load: $missing_libs"; exit 1; }
fi
log "ready: $BIN"
echo "$BIN"
