#!/usr/bin/env bash
# Regenerates the shipped models from scratch: corpus → tokenizer → target → distilled drafters → ONNX export →
# agreement report. Every training step is resumable: rerun the same command after an interruption.
#   TARGET_MINUTES / DISTILL_MINUTES bound each training run's wall-clock time (defaults: 90 / 40).
#
#   tools/make_models.sh --repo-context   fine-tunes the shipped models instead (read back from models/*/onnx, after a
#   snapshot to $WORK/models-before) with repository-level samples mixed in (tools/repo_data.py): target, then the
#   drafters re-distilled from the new target, export to $WORK/models-after (not models/: compare first with
#   `lockstep bench quality --target $WORK/models-after/lockstep-target` and the held-out losses, then copy), agreement
#   report, and held-out loss with / without cross-file context before and after (tools/context_loss.py).
#   Defaults TARGET_MINUTES=35 DISTILL_MINUTES=15.
#
#   tools/make_models.sh --copying   the copying curriculum (tools/README.md): the target from the shipped weights with
#   half its samples' names made up (rename.py, half of those built from token pieces), a batch of copy samples
#   (copy_data.py, loss on the middle only) and of random-id repeats in code (train.py repeat_batch) each step, then
#   tools/copy_probe.py before and after. Target only, to $WORK/models-copying. TARGET_MINUTES=40 by default.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${WORK:-$here/.work}
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$work"
[ -d "$work/corpus-npm/node_modules" ] || "$here/fetch_corpus.sh" "$work/corpus-npm"
[ -f "$work/corpus/train.jsonl" ] || "$py" "$here/corpus.py" --node-modules "$work/corpus-npm/node_modules" --out "$work/corpus"
if [ "${1:-}" = "--copying" ]; then
  [ -d "$work/models-before" ] || { mkdir -p "$work/models-before" && cp -r "$root"/models/lockstep-* "$root/models/training-report.json" "$work/models-before/"; }
  mkdir -p "$work/tokenizer"
  cp "$work/models-before/lockstep-target/tokenizer.json" "$work/models-before/lockstep-target/tokenizer_config.json" "$work/tokenizer/"
  "$py" "$here/train.py" target --work "$work" --minutes "${TARGET_MINUTES:-40}" --total-steps "${TARGET_STEPS:-600}" \
    --init-from "$work/models-before" --batch 2 --repo-rate 0.5 --copy-rate 0.5 --rename-rate 0.5 --piece-share 0.5 \
    --echo-rate 0.1 --induction-batch 16 --copy-batch 4 --lr 1e-3 --threads 2 --run target-copying
  "$py" "$here/export.py" --work "$work" --out "$work/models-copying" --target-run target-copying --distill-run none
  "$py" "$here/copy_probe.py" --work "$work" --models "$work/models-before"
  "$py" "$here/copy_probe.py" --work "$work" --models "$work/models-copying"
  exit 0
fi
if [ "${1:-}" = "--repo-context" ]; then
  # fine-tuning keeps the shipped tokenizer (the embeddings belong to its ids) and starts from a snapshot of models/
  mkdir -p "$work/tokenizer"
  [ -d "$work/models-before" ] || { mkdir -p "$work/models-before" && cp -r "$root"/models/lockstep-* "$root/models/training-report.json" "$work/models-before/"; }
  cp "$work/models-before/lockstep-target/tokenizer.json" "$work/models-before/lockstep-target/tokenizer_config.json" "$work/tokenizer/"
  "$py" "$here/train.py" target --work "$work" --minutes "${TARGET_MINUTES:-35}" --total-steps "${TARGET_STEPS:-300}" \
    --init-from "$work/models-before" --repo-rate 0.4 --lr 6e-4 --threads 1
  "$py" "$here/train.py" distill --work "$work" --minutes "${DISTILL_MINUTES:-15}" --total-steps "${DISTILL_STEPS:-150}" \
    --init-from "$work/models-before" --repo-rate 0.4 --lr 1e-3 --threads 1
  "$py" "$here/export.py" --work "$work" --out "$work/models-after"
  "$py" "$here/agreement.py" --work "$work" --models "$work/models-after"
  "$py" "$here/context_loss.py" --work "$work" --models "$work/models-after" --before "$work/models-before" --report "$work/models-after/training-report.json"
  exit 0
fi
[ -f "$work/tokenizer/tokenizer.json" ] || "$py" "$here/train_tokenizer.py" --corpus "$work/corpus" --out "$work/tokenizer"
"$py" "$here/train.py" target --work "$work" --minutes "${TARGET_MINUTES:-90}" --total-steps 1400
"$py" "$here/train.py" distill --work "$work" --minutes "${DISTILL_MINUTES:-40}" --total-steps 300
"$py" "$here/export.py" --work "$work" --out "$root/models"
"$py" "$here/agreement.py" --work "$work" --models "$root/models"
