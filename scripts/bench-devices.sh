#!/usr/bin/env bash
# Devices learned from captured frames, at scale, against a release `airsift run`:
#
#  1. a synthetic capture (`synth-capture survey`): APS access points beaconing a WPA2 SSID and
#     CLIENTS clients per AP sending it protected data, every device in each of ROUNDS rounds,
#     timestamped at RATE frames/s;
#  2. airsift starts with its API and no source (RSS of the empty server), then captures the
#     file at its recorded pace (`FILE:realtime=true`) as a datasource added over REST;
#  3. once every device is stored: RSS per device, how many frames found a worker's table full;
#  4. query latency with every device stored: clients-of of one AP (CLIENTS clients), a
#     last-time query after a few fresh scan reports, and a page deep in the all-devices view.
# Prints a Markdown table (raw JSON of each query run on stderr).
#
#   usage: scripts/bench-devices.sh [APS] [CLIENTS] [ROUNDS] [RATE]   (defaults: 1000 99 3 200000)
#   e.g.   scripts/bench-devices.sh 1000 99 3      # 100,000 devices
#          scripts/bench-devices.sh 10000 99 2     # 1,000,000 devices
set -euo pipefail
cd "$(dirname "$0")/.."
aps=${1:-1000}
clients=${2:-99}
rounds=${3:-3}
rate=${4:-200000}
devices=$(( aps * (clients + 1) ))
work=$(mktemp -d /tmp/airsift-bench-devices.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p control --bin airsift --bin airsift-scanload
cargo build --release -q -p airsift-benches --bin synth-capture
A=target/release/airsift
L=target/release/airsift-scanload
target/release/synth-capture survey "$work/survey.pcap" --aps "$aps" --clients "$clients" \
  --rounds "$rounds" --rate "$rate"
frames=$(( devices * rounds ))

export AIRSIFT_ADMIN_PASSWORD=bench-$$-$RANDOM
$A run --state-dir "$work/state" --listen 127.0.0.1:0 > "$work/out.log" 2> "$work/err.log" &
pid=$!
addr=
for _ in $(seq 1 600); do
  addr=$(sed -n 's|.*REST API on http://\([^/]*\)/.*|\1|p' "$work/err.log" | head -1)
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/err.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "airsift did not announce its API" >&2; exit 1; }
auth=(-u "admin:$AIRSIFT_ADMIN_PASSWORD")
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
stats() { curl -sf "${auth[@]}" "http://$addr/dataplane/stats.json"; }
sleep 1
rss0=$(rss_kib)

start=$(date +%s.%N)
curl -sf "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"definition\": \"$work/survey.pcap:realtime=true,name=survey\"}" \
  "http://$addr/datasource/add_source.cmd" > /dev/null
# Wait for every frame, then for the store to settle (tables merge every 250 ms).
until [ "$(stats | jq '.total.frames')" -ge "$frames" ]; do sleep 0.5; done
captured=$(date +%s.%N)
prev=-1
while :; do
  sleep 1
  now=$(stats | jq -c '.devices')
  [ "$now" = "$prev" ] && break
  prev=$now
done
rss1=$(rss_kib)
stored=$(jq '.stored' <<< "$now")
untracked=$(jq '.untracked_frames' <<< "$now")
evicted=$(jq '.evicted' <<< "$now")
drops=$(stats | jq '.total.kernel_drops + .total.sink_drops')

ap_key=$(curl -sf "${auth[@]}" "http://$addr/devices/by-mac/00:00:1A:00:00:00/devices.json" \
  | jq -r '.[0]["kismet.device.base.key"]')
q_clients=$($L --addr "$addr" --connections 1 --requests 100 \
  --get "/phy/phy80211/clients-of/$ap_key/clients.json" | tee -a /dev/stderr)
$L --addr "$addr" --connections 1 --batch 10 --reports 10 --bssids 10 --bssid-offset 50000000 \
  > /dev/null
q_time=$($L --addr "$addr" --connections 1 --requests 100 \
  --get /devices/last-time/-10/devices.json | tee -a /dev/stderr)
mid=$(( stored / 200 ))
q_page=$($L --addr "$addr" --connections 1 --requests 20 --get /devices/views/all/devices.json \
  --body "{\"page\": $mid, \"length\": 100, \"fields\": [\"kismet.device.base.macaddr\", \"kismet.device.base.type\"]}" \
  | tee -a /dev/stderr)

j() { jq -r "$2" <<< "$1"; }
fmt() { printf "%'.0f" "$1"; }
secs=$(echo "$captured - $start" | bc)
echo
echo "airsift devices from frames, $(nproc) cores: $(fmt "$aps") APs x $(fmt "$clients") clients, $rounds rounds, $(fmt "$frames") frames at $(fmt "$rate") frames/s"
echo
echo "| measurement | value |"
echo "|---|---:|"
echo "| frames captured in | ${secs%.*} s (kernel + sink drops: $drops) |"
echo "| devices stored / expected | $(fmt "$stored") / $(fmt "$devices") (evicted $evicted, untracked frames $untracked) |"
echo "| RSS | $(( rss1 / 1024 )) MiB (empty server: $(( rss0 / 1024 )) MiB) |"
echo "| RSS per device | $(( rss1 * 1024 / stored )) B ($(( (rss1 - rss0) * 1024 / stored )) B over the empty server) |"
echo "| clients-of ($(fmt "$clients") clients), p50 / p99 / max | $(j "$q_clients" .latency_ms.p50) / $(j "$q_clients" .latency_ms.p99) / $(j "$q_clients" .latency_ms.max) ms ($(j "$q_clients" .mean_reply_bytes) B) |"
echo "| last-time/-10 ($(fmt "$stored") devices), p50 / p99 / max | $(j "$q_time" .latency_ms.p50) / $(j "$q_time" .latency_ms.p99) / $(j "$q_time" .latency_ms.max) ms ($(j "$q_time" .mean_reply_bytes) B) |"
echo "| all-devices view, page $mid of 100 with fields, p50 / max | $(j "$q_page" .latency_ms.p50) / $(j "$q_page" .latency_ms.max) ms |"
