#!/usr/bin/env bash
# Runs the README's test command several times in a row while other processes keep every core
# busy, with RUST_BACKTRACE=1, and prints one line per run: the suite must hold under load and
# in any environment, not only on a quiet machine.
#
#   scripts/test-under-load.sh [RUNS] [-- extra cargo test arguments, e.g. --release]
#
# The load is `stress-ng --cpu N` (Debian package stress-ng) when present, else N shell busy
# loops; it is stopped on exit, also on failure or Ctrl-C. Exit status: the number of failed
# runs (0: all passed).
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
cores=$(nproc)
log_dir=${LOG_DIR:-target/test-under-load}
mkdir -p "$log_dir"

echo "building the tests first (not under load)"
cargo test --workspace "${extra[@]}" --no-run -q || exit 100

pids=()
stop_load() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap stop_load EXIT INT TERM
if command -v stress-ng >/dev/null; then
  stress-ng --cpu "$cores" --quiet &
  pids+=($!)
  load="stress-ng --cpu $cores"
else
  for _ in $(seq "$cores"); do
    (while :; do :; done) &
    pids+=($!)
  done
  load="$cores busy loops"
fi
echo "load: $load; RUST_BACKTRACE=1; $runs runs of: cargo test --workspace ${extra[*]}"

failed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  RUST_BACKTRACE=1 cargo test --workspace "${extra[@]}" >"$log_dir/run-$i.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log_dir/run-$i.log" | awk '{s+=$4} END {print s+0}')
  if [ $rc -eq 0 ]; then
    echo "run $i: ok, $passed tests passed in ${secs} s"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED (exit $rc) after ${secs} s; see $log_dir/run-$i.log:"
    grep -E "panicked|FAILED|failures:" "$log_dir/run-$i.log" | head -10
  fi
done
echo "$((runs - failed)) passed, $failed failed"
exit $failed
