#!/usr/bin/env bash
# Regenerates the shipped models from scratch: corpus → tokenizer → target → distilled drafters → ONNX export →
# agreement report. Every training step is resumable: rerun the same command after an interruption.
#   TARGET_MINUTES / DISTILL_MINUTES bound each training run's wall-clock time (defaults: 90 / 40).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${WORK:-$here/.work}
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$work"
[ -d "$work/corpus-npm/node_modules" ] || "$here/fetch_corpus.sh" "$work/corpus-npm"
[ -f "$work/corpus/train.jsonl" ] || "$py" "$here/corpus.py" --node-modules "$work/corpus-npm/node_modules" --out "$work/corpus"
[ -f "$work/tokenizer/tokenizer.json" ] || "$py" "$here/train_tokenizer.py" --corpus "$work/corpus" --out "$work/tokenizer"
"$py" "$here/train.py" target --work "$work" --minutes "${TARGET_MINUTES:-90}" --total-steps 1400
"$py" "$here/train.py" distill --work "$work" --minutes "${DISTILL_MINUTES:-40}" --total-steps 300
"$py" "$here/export.py" --work "$work" --out "$root/models"
"$py" "$here/agreement.py" --work "$work" --models "$root/models"
