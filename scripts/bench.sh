#!/usr/bin/env bash
# Runs every benchmark of test/bench/ one after another (each starts and stops its own peers), then prints the
# goal lines they printed as one table. Figures only: a goal short fails nothing; a benchmark that crashes makes it exit 1.
# usage: npm run bench [-- NAME...]   (NAME: fuzz, wado, dimse, source, outbox-drain, consumer-import, wan, https-latency, synth, pkcs11-sign)
set -uo pipefail
cd "$(dirname "$0")/.."
export TCP_NODELAY=1
bash scripts/install-system-deps.sh nginx-light
# The boxes the benches start serve the viewer and the on-screen keyboard: their bundles, as the test command builds them.
npm run build:ui >/dev/null
mkdir -p test-results
log=test-results/bench.log
: >"$log"
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(fuzz source outbox-drain wado consumer-import wan https-latency dimse synth pkcs11-sign)
failed=()
for name in "${names[@]}"; do
  script="test/bench/${name}-bench.ts"
  [ -f "$script" ] || { echo "no benchmark $script" >&2; exit 2; }
  echo "== $name" | tee -a "$log"
  start=$(date +%s)
  npx tsx "$script" 2>&1 | tee -a "$log"
  code=${PIPESTATUS[0]}
  [ "$code" -eq 0 ] || failed+=("$name (exit $code)")
  echo "($name: $(( $(date +%s) - start )) s)" | tee -a "$log"
done
echo
echo "| goal | value | target | |"
echo "| --- | --- | --- | --- |"
sed -n 's/^goal \([^:]*\): \(.*\) (target \(.*\)) \(ok\|short\)$/| \1 | \2 | \3 | \4 |/p' "$log"
# A benchmark that failed printed no goal line: said here, and in the exit status.
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]} (see $log)" >&2
  exit 1
fi
