#!/usr/bin/env bash
# The main job, on one command: airsift capturing from a radiotap monitor interface with its
# REST API up, fed with a real capture in a loop, and the curl commands to try.
#
# As root: a network namespace `airsift-demo` holds a TUN device posing as a monitor interface
# (link/ieee802.11/radiotap) that `airsift-inject` feeds with testdata's real frames at 200
# frames/s; `airsift run` captures from it with TPACKET_V3, logs passed frames to pcapng and
# serves the API on 127.0.0.1:2501 inside the namespace. Nothing touches the host's
# interfaces. Without root it falls back to replaying the capture file at its recorded pace.
# Ctrl-C stops everything and removes the namespace.
#   usage: scripts/demo.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
ns=airsift-demo
work=${AIRSIFT_DEMO_DIR:-/tmp/airsift-demo}
cap=testdata/captures/rt_aircrack_test1_multins-fcs.pcap
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
api=127.0.0.1:2501

echo "demo: building airsift (release; the first build takes a few minutes)" >&2
cargo build --release -q -p control --bin airsift --bin airsift-inject
bin=$root/target/release
mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $(id -u) == 0 ]] && [[ -e /run/netns/$ns ]]; then ip netns del "$ns"; fi
}
trap cleanup EXIT INT TERM

if [[ $(id -u) == 0 ]]; then
  [[ -e /run/netns/$ns ]] && ip netns del "$ns"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6'
  ip netns exec "$ns" "$bin/airsift-inject" tun --name rt0 --pcap "$cap" --rate 200 --loop >/dev/null 2>"$work/inject.log" &
  pids+=($!)
  for _ in $(seq 50); do ip -n "$ns" link show rt0 >/dev/null 2>&1 && break; sleep 0.1; done
  echo "demo: $(ip -n "$ns" -br link show rt0 | awk '{print $1}') is up in namespace $ns: $(ip -n "$ns" link show rt0 | grep -o 'link/[^ ]*')" >&2
  run=(ip netns exec "$ns" env AIRSIFT_ADMIN_PASSWORD="$password" "$bin/airsift" run --source tpacket:rt0)
  try="ip netns exec $ns curl"
else
  echo "demo: not root, so no lab interface: replaying $cap at its recorded pace instead" >&2
  run=(env AIRSIFT_ADMIN_PASSWORD="$password" "$bin/airsift" run --source "pcap:$cap" --loop --pace)
  try="curl"
fi
"${run[@]}" --listen "$api" --state-dir "$work/state" --log-dir "$work/log" &
pids+=($!)
sleep 1.5
cat <<MSG

airsift is capturing; passed frames go to $work/log. Try the API (user admin, password $password):

  # block a station (it sends probe responses and authentications in this capture):
  $try -s -u admin:$password -d 'json={"filter":{"F8:1A:67:E5:05:62":true}}' \\
      http://$api/filters/packet/capture/IEEE802.11/source/set_filter.cmd

  # the counters: "blocked" grows from now on, "filter_generation" shows the new table
  $try -s -u admin:$password http://$api/dataplane/stats.prettyjson

  # the filter, Kismet's document:
  $try -s -u admin:$password http://$api/filters/packet/capture/filter.prettyjson

  # a live pcapng stream of the passed frames:
  $try -s -u admin:$password http://$api/pcap/all_packets.pcapng | tshark -r -

Ctrl-C stops the demo.
MSG
wait "${pids[-1]}"
