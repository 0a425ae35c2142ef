#!/usr/bin/env bash
# Filter changes under load: latency from a filter POST until every worker applies the new
# generation (p50/p99 over N changes), and the capture's loss while 100 changes/s are applied,
# against the same run without changes. TPACKET_V3 on the lab veth, REST API inside the
# namespace, `airsift-inject` at a fixed rate. Needs root.
#   usage: scripts/bench-swap.sh [RATE=200000] [WORKERS=1] [CHANGES=1000] [CHANGE_RATE=100]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-200000}; workers=${2:-1}; changes=${3:-1000}; crate=${4:-100}
secs=$(( changes / crate + 2 ))
ns=airsift-swap-$$
work=$(mktemp -d /tmp/airsift-swap.XXXXXX)
pw=bench
cleanup() { kill "${apid:-}" 2>/dev/null || true; wait 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p control --bin airsift --bin airsift-inject --bin airsift-swapbench
bin=target/release
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'
ip -n "$ns" link add va type veth peer name vb
ip -n "$ns" link set va mtu 9000 up
ip -n "$ns" link set vb mtu 9000 up
ip netns exec "$ns" env AIRSIFT_ADMIN_PASSWORD=$pw "$bin/airsift" run --source tpacket:vb --link-type radiotap \
  --workers "$workers" --log-dir "$work/log" --state-dir "$work/state" --listen 127.0.0.1:2511 --json \
  > "$work/totals.json" 2> "$work/airsift.err" &
apid=$!
sleep 1.5
stats() { ip netns exec "$ns" curl -s -u admin:$pw http://127.0.0.1:2511/dataplane/stats.json; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d['total']['$1'])"; }
phase() { # name, with_changes
  local f0 d0 f1 d1 inj
  f0=$(stats | field frames); d0=$(stats | field kernel_drops)
  ip netns exec "$ns" "$bin/airsift-inject" veth --iface va --pcap testdata/captures/rt_aircrack_test1_multins-fcs.pcap \
    --rate "$rate" --loop --duration "$secs" 2> "$work/inject-$1.log" &
  local ipid=$!
  if [[ $2 == yes ]]; then
    ip netns exec "$ns" "$bin/airsift-swapbench" --addr 127.0.0.1:2511 --password $pw --changes "$changes" --rate "$crate" > "$work/swap.json"
  fi
  wait $ipid
  sleep 1
  f1=$(stats | field frames); d1=$(stats | field kernel_drops)
  inj=$(grep -o 'sent [0-9]* frames' "$work/inject-$1.log" | awk '{print $2}')
  echo "$1 $inj $((f1 - f0)) $((d1 - d0)) $(grep -o '= [0-9]* frames/s' "$work/inject-$1.log" | awk '{print $2}')"
}
read -r _ inj0 cap0 drop0 rate0 < <(phase quiet no)
read -r _ inj1 cap1 drop1 rate1 < <(phase changes yes)
echo "| phase | injected | captured | kernel drops | injection rate (frames/s) |"
echo "|---|---:|---:|---:|---:|"
echo "| no filter changes | $inj0 | $cap0 | $drop0 | $rate0 |"
echo "| $changes changes at $crate/s | $inj1 | $cap1 | $drop1 | $rate1 |"
echo
echo "filter change to every worker applying it: $(cat "$work/swap.json")"
