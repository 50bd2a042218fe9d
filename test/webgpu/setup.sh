#!/usr/bin/env bash
# One-time (cached) setup of a software WebGPU adapter, so that the engine's WebGPU path is tested on a machine
# without a GPU: Mesa's lavapipe Vulkan driver from bookworm-backports (Debian 12's own Mesa 22.3 is refused by
# Dawn: "No supported adapters"). The backports packages are extracted into a cache folder, not installed, so the
# system's Mesa is untouched; their Debian 12 dependencies are apt-installed when missing.
#
#   bash test/webgpu/setup.sh                 # prints the env file to source
#   source "$(bash test/webgpu/setup.sh)"     # then: npm test (runs test/engine/runtime/webgpu.test.ts too)
#   LOCKSTEP_WEBGPU_SKIP_APT=1 bash …         # never call apt-get install (packages already there)
#
# Installs into ${LOCKSTEP_WEBGPU_CACHE:-$HOME/.cache/lockstep-webgpu}. Progress goes to stderr; stdout is only the
# env file's path. Exits non-zero on failure.
set -euo pipefail

MESA_VERSION=25.0.7-2~bpo12+1
DRM_VERSION=2.4.123-1~bpo12+1
CACHE="${LOCKSTEP_WEBGPU_CACHE:-${HOME:-/root}/.cache/lockstep-webgpu}"
DEST="$CACHE/mesa-$MESA_VERSION"
ENV_FILE="$DEST/env.sh"

log() { printf '[webgpu-setup] %s\n' "$*" >&2; }

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || { log "only Linux x86-64 is supported here"; exit 1; }

# --- Debian 12 libraries the backports driver links against ------------------------------------------------------
need_pkgs=()
for p in libvulkan1 libllvm15 libelf1 libexpat1 libzstd1 zlib1g libwayland-client0 libx11-xcb1 libxcb1 \
         libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
# shellcheck source=../apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh"
apt_install LOCKSTEP_WEBGPU_SKIP_APT "${need_pkgs[@]}" >&2 || exit 1

# --- Mesa lavapipe from bookworm-backports, extracted (cached) ---------------------------------------------------
if [ -f "$DEST/.complete" ] && [ -f "$DEST/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ]; then
  log "lavapipe $MESA_VERSION already in $DEST"
else
  log "fetching Mesa $MESA_VERSION (lavapipe) from bookworm-backports into $DEST"
  rm -rf "$DEST"
  mkdir -p "$DEST/apt/lists/partial" "$DEST/apt/archives/partial" "$DEST/root"
  printf 'deb http://deb.debian.org/debian bookworm-backports main\n' > "$DEST/apt/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$DEST/apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
            -o "Dir::State::Lists=$DEST/apt/lists" -o "Dir::Cache::Archives=$DEST/apt/archives"
            -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
  fetch() { (cd "$DEST/apt/archives" && apt-get "${apt_opts[@]}" download -qq "$@" >/dev/null 2>&1); }
  for attempt in 1 2 3; do
    if apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1; then
      # The versions this was tested with; if backports has moved on, its current ones.
      if fetch "mesa-vulkan-drivers=$MESA_VERSION" "libdrm2=$DRM_VERSION" "libdrm-amdgpu1=$DRM_VERSION" ||
         fetch mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports; then
        break
      fi
    fi
    [ "$attempt" -lt 3 ] || { log "could not download the backports packages"; exit 1; }
    log "download failed (attempt $attempt); retrying in 10 s"; sleep 10
  done
  for deb in "$DEST"/apt/archives/*.deb; do dpkg-deb -x "$deb" "$DEST/root"; done
  rm -rf "$DEST/apt"
  touch "$DEST/.complete"
fi

lib="$DEST/root/usr/lib/x86_64-linux-gnu"
icd="$DEST/root/usr/share/vulkan/icd.d/lvp_icd.json"
missing="$(LD_LIBRARY_PATH="$lib" ldd "$lib/libvulkan_lvp.so" | grep 'not found' || true)"
[ -z "$missing" ] || { log "lavapipe cannot load: $missing"; exit 1; }

cat > "$ENV_FILE" <<ENV
# Source this file to run the engine's WebGPU tests on Mesa lavapipe (written by test/webgpu/setup.sh).
export LD_LIBRARY_PATH="$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export VK_DRIVER_FILES="$icd"
export VK_ICD_FILENAMES="$icd"
export MESA_SHADER_CACHE_DIR="$CACHE/shader-cache"
export LOCKSTEP_WEBGPU=1
ENV
log "ready: source $ENV_FILE"
echo "$ENV_FILE"
