# Sourced by test/e2e/setup.sh and test/webgpu/setup.sh: apt-get install of Debian packages, with retries.
#   apt_install SKIP_VAR PKG...   installs PKG... (sudo when not root); fails, naming them, when $SKIP_VAR is set.
# Uses the caller's log() for progress.
apt_install() {
  local skip_var="$1"; shift
  [ "$#" -gt 0 ] || return 0
  if [ -n "${!skip_var:-}" ]; then
    log "missing Debian packages: $* ($skip_var is set: not installing)"; return 1
  fi
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  local attempt
  for attempt in 1 2 3; do
    # Another apt or dpkg (unattended-upgrades on a fresh machine) may hold the lock: wait for it, up to 10 min.
    if $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq &&
       $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null; then
      return 0
    fi
    [ "$attempt" -lt 3 ] || { log "apt-get failed"; return 1; }
    log "apt-get failed (attempt $attempt); retrying in 10 s"; sleep 10
  done
}
