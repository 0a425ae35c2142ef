#!/usr/bin/env bash
# Offline filtering, airsift vs tcpdump, on the same file in page cache.
#
# Builds a 1,000,000-frame radiotap capture of real frames with 2,000 synthetic transmitters,
# then filters it by 100 and 1,000 transmitter addresses with `airsift replay --out` and with
# `tcpdump -r -w 'not (wlan addr2 ..)'`; both must write exactly the same number of frames.
# Prints a Markdown table (median of 3 runs each) for BENCHMARKS.md.
#   usage: scripts/bench-replay.sh [FRAMES]      (needs: apt-get install tcpdump)
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-1000000}
work=$(mktemp -d /tmp/airsift-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p control -p airsift-benches --bin airsift --bin synth-capture
A=target/release/airsift
S=target/release/synth-capture
$S pcap "$work/in.pcap" --frames "$frames" --stations 2000
cat "$work/in.pcap" > /dev/null   # page cache

median() { sort -g | sed -n 2p; }
# Wall seconds of a command, 3 runs, median.
timed() {
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | median
}
count_pcap() { tcpdump -r "$1" 2>/dev/null | wc -l; }
rate() { echo "scale=2; $frames / $1 / 1000000" | bc -l; }

echo "| filter | airsift replay (M frames/s) | tcpdump -r -w (M frames/s) | airsift / tcpdump |"
echo "|---|---:|---:|---:|"
t=$(timed $A replay "$work/in.pcap")
echo "| none, no output (parse + decide only) | $(rate "$t") | | |"
t=$(timed $A replay "$work/in.pcap" --out "$work/a0.pcapng")
u=$(timed tcpdump -r "$work/in.pcap" -w "$work/t0.pcap")
echo "| none | $(rate "$t") | $(rate "$u") | $(echo "scale=1; $u / $t" | bc -l)x |"
for k in 100 1000; do
  $S filter "$work/f$k.json" --terms $k
  $S bpf --terms $k > "$work/bpf$k"
  t=$(timed $A replay "$work/in.pcap" --filter "$work/f$k.json" --out "$work/a$k.pcapng")
  u=$(timed tcpdump -r "$work/in.pcap" -w "$work/t$k.pcap" "$(cat "$work/bpf$k")")
  a=$(count_pcap "$work/a$k.pcapng"); b=$(count_pcap "$work/t$k.pcap")
  [ "$a" = "$b" ] || { echo "frames written differ: airsift $a, tcpdump $b" >&2; exit 1; }
  echo "| $k source addresses ($a of $frames frames pass) | $(rate "$t") | $(rate "$u") | $(echo "scale=1; $u / $t" | bc -l)x |"
done
