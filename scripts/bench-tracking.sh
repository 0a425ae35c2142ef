#!/usr/bin/env bash
# The per-frame cost of learning devices (issue budget: `tracking/on` within 20 ns/frame of
# `tracking/off`), measured three ways:
#  1. criterion's `tracking` group RUNS times, pinned to one core; a shared VM's neighbours
#     make single runs swing by half, so it prints each run and the minimum (the run least
#     disturbed) of each bench, and on - off per frame from the minima;
#  2. `track_ab`: off and on interleaved in short samples within one process, three
#     processes; the median of the per-pair differences (each process runs in one of the VM's
#     speed modes as a whole, so the three lines show which);
#  3. cachegrind's instruction and branch-mispredict counts for `observe` per frame, per class
#     of frame, which do not depend on the host's load.
# Usage: scripts/bench-tracking.sh [RUNS]   (needs valgrind for part 2)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
cargo bench -p airsift-benches --bench fast_path --no-run >/dev/null 2>&1
BIN=$(ls -t target/release/deps/fast_path-* | grep -v '\.d$' | head -1)
FRAMES=$(cargo run -q --release -p airsift-benches --example track_classes -- all 0)
echo "criterion, $RUNS runs of the tracking group on CPU 1 ($FRAMES frames per iteration):"
for _ in $(seq "$RUNS"); do
  taskset -c 1 "$BIN" --bench tracking --measurement-time 1 --warm-up-time 0.5 2>&1 | grep -E '^tracking/'
done | awk -v frames="$FRAMES" '
  { v = $5; if ($6 == "ms") v *= 1000; if ($6 == "ns") v /= 1000
    if (!($1 in m) || v < m[$1]) m[$1] = v; all[$1] = all[$1] " " v }
  END { for (n in m) printf "  %-22s min %8.2f µs   runs:%s\n", n, m[n], all[n]
        printf "  on - off (minima): %.1f ns/frame\n", (m["tracking/on"] - m["tracking/off"]) * 1000 / frames }'
cargo build -q --release -p airsift-benches --example track_ab
echo "track_ab, three processes of 400 interleaved pairs on CPU 1:"
for _ in 1 2 3; do taskset -c 1 target/release/examples/track_ab 400 | sed 's/^/  /'; done
if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed: skipping instruction counts"; exit 0
fi
EX=target/release/examples/track_classes
echo "cachegrind: observe's instructions and mispredicted branches per frame (100 passes):"
for class in all data beacon mgmt-other; do
  count() { valgrind --tool=cachegrind --cache-sim=no --branch-sim=yes \
      --cachegrind-out-file=/dev/null "$EX" "$class" "$1" 2>&1 |
      awk '/I *refs:/ {gsub(",", "", $4); i = $4} /Mispredicts:/ {gsub(",", "", $3); b = $3}
           END {print i, b}'; }
  read -r i0 b0 < <(count 0)
  read -r i1 b1 < <(count 100)
  n=$("$EX" "$class" 0)
  awk -v c="$class" -v n="$n" -v i0="$i0" -v i1="$i1" -v b0="$b0" -v b1="$b1" \
    'BEGIN { printf "  %-10s %5d frames  %6.0f instructions  %5.2f mispredicts per frame\n",
             c, n, (i1 - i0) / (100 * n), (b1 - b0) / (100 * n) }'
done
