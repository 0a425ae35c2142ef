#!/usr/bin/env bash
# Scan-report ingestion benchmark (API.md section 3) against a release `airsift run`.
#
#  1. posts batches of 100 reports from 16 keep-alive connections for SECONDS over 100,000
#     distinct BSSIDs (airsift-scanload); reports acknowledged per second (200 = durable) and
#     request latency p50/p99;
#  2. resident memory per stored device (VmRSS of the server over its device count), and the
#     part of it the device model itself takes by its own estimate (`airsift_scan_model_bytes`);
#  3. pre-fills to 1,000,000 devices (one pass over 1M distinct BSSIDs), measures memory again
#     and the ingestion rate again over the 1M BSSIDs;
#  4. `last-time` query latency with 1M devices stored: 100 GETs of
#     /devices/last-time/-10/devices.json right after posting a few fresh reports; and a page
#     deep in the all-devices view.
# The bulk reports carry timestamps an hour old, so the last-time query finds only the fresh ones.
# Prints a Markdown table (and the raw JSON of each run on stderr).
#
#   usage: scripts/bench-scan.sh [SECONDS] [PREFILL]      (defaults: 60 1000000)
#   env:   HTTP_THREADS (airsift --http-threads, default 1), CONNECTIONS (16), BATCH (100)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
prefill=${2:-1000000}
conns=${CONNECTIONS:-16}
batch=${BATCH:-100}
threads=${HTTP_THREADS:-1}
work=$(mktemp -d /tmp/airsift-bench-scan.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p control --bin airsift --bin airsift-scanload
tgt=${CARGO_TARGET_DIR:-target}
A=$tgt/release/airsift
L=$tgt/release/airsift-scanload
export AIRSIFT_ADMIN_PASSWORD=bench-$$-$RANDOM
cap=testdata/captures/rt_aircrack_test1_multins-fcs.pcap

$A run --source "pcap:$cap" --state-dir "$work/state" --listen 127.0.0.1:0 \
  --http-threads "$threads" > "$work/out.log" 2> "$work/err.log" &
pid=$!
addr=
for _ in $(seq 1 600); do
  addr=$(sed -n 's|.*REST API on http://\([^/]*\)/.*|\1|p' "$work/err.log" | head -1)
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/err.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "airsift did not announce its API" >&2; cat "$work/err.log" >&2; exit 1; }

auth=(-u "admin:$AIRSIFT_ADMIN_PASSWORD")
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
metric() { # NAME: one value from /metrics
  curl -sf "${auth[@]}" "http://$addr/metrics" | awk -v n="airsift_$1" '$1 == n {print $2}'
}
devices() { metric scan_devices; }
load() { # extra scanload args...; prints the JSON summary, copies it to stderr
  $L --addr "$addr" --connections "$conns" --batch "$batch" "$@" | tee -a /dev/stderr
}
fmt() { printf "%'.0f" "$1"; }

rss0=$(rss_kib)

# 1. 100k distinct BSSIDs for SECONDS.
r1=$(load --seconds "$seconds" --bssids 100000 --timestamp-offset 3600)
rss1=$(rss_kib); dev1=$(devices); model1=$(metric scan_model_bytes)

# 3. Pre-fill: one pass over PREFILL distinct BSSIDs (the first 100k already exist).
r2=$(load --reports "$prefill" --bssids "$prefill" --timestamp-offset 3600)
rss2=$(rss_kib); dev2=$(devices)
r3=$(load --seconds "$seconds" --bssids "$prefill" --timestamp-offset 3600)
rss3=$(rss_kib); dev3=$(devices); model3=$(metric scan_model_bytes)

# 4. A few fresh reports, then last-time queries for the last 10 s.
$L --addr "$addr" --connections 1 --batch 10 --reports 10 --bssids 10 --bssid-offset 50000000 \
  > /dev/null
q=$($L --addr "$addr" --connections 1 --get /devices/last-time/-10/devices.json --requests 100 \
  | tee -a /dev/stderr)
mid=$(( dev3 / 200 ))   # a page in the middle of the view
q_page=$($L --addr "$addr" --connections 1 --requests 20 --get /devices/views/all/devices.json \
  --body "{\"page\": $mid, \"length\": 100, \"fields\": [\"kismet.device.base.macaddr\", \"kismet.device.base.name\"]}" \
  | tee -a /dev/stderr)

j() { jq -r "$2" <<< "$1"; }
per_dev() { # rss_kib devices -> bytes per device (total RSS, and over the empty server's)
  echo "$(( $1 * 1024 / $2 )) B ($(( ($1 - rss0) * 1024 / $2 )) B over the empty server)"
}

echo
echo "airsift scan-report ingestion, $(nproc) cores, --http-threads $threads, $conns connections, batches of $batch"
echo
echo "| measurement | value | target |"
echo "|---|---:|---:|"
echo "| reports/s acknowledged, ${seconds} s, 100k BSSIDs | $(fmt "$(j "$r1" .reports_per_s)") | ≥ 100,000 |"
echo "| request latency p50 / p99 / max (100k BSSIDs) | $(j "$r1" .latency_ms.p50) / $(j "$r1" .latency_ms.p99) / $(j "$r1" .latency_ms.max) ms | p99 < 50 ms |"
echo "| failed requests / errors | $(j "$r1" .requests_failed) / $(j "$r1" .errors) | 0 |"
echo "| devices stored | $(fmt "$dev1") | |"
echo "| RSS | $(( rss1 / 1024 )) MiB (empty server: $(( rss0 / 1024 )) MiB) | |"
echo "| RSS per device | $(per_dev "$rss1" "$dev1") | < 1 KiB |"
echo "| of which the device model (estimate) | $(( model1 / dev1 )) B | |"
echo "| pre-fill: reports/s over $(fmt "$prefill") new BSSIDs | $(fmt "$(j "$r2" .reports_per_s)") (p99 $(j "$r2" .latency_ms.p99) ms) | |"
echo "| devices stored after pre-fill | $(fmt "$dev2") | |"
echo "| RSS after pre-fill | $(( rss2 / 1024 )) MiB | |"
echo "| RSS per device after pre-fill | $(per_dev "$rss2" "$dev2") | < 1 KiB |"
echo "| reports/s acknowledged, ${seconds} s, $(fmt "$prefill") BSSIDs | $(fmt "$(j "$r3" .reports_per_s)") | ≥ 100,000 |"
echo "| request latency p50 / p99 / max ($(fmt "$prefill") BSSIDs) | $(j "$r3" .latency_ms.p50) / $(j "$r3" .latency_ms.p99) / $(j "$r3" .latency_ms.max) ms | p99 < 50 ms |"
echo "| RSS per device after that run | $(per_dev "$rss3" "$dev3") | < 1 KiB |"
echo "| of which the device model (estimate) | $(( model3 / dev3 )) B | |"
echo "| last-time/-10 query with $(fmt "$dev3") devices, p50 / p99 / max | $(j "$q" .latency_ms.p50) / $(j "$q" .latency_ms.p99) / $(j "$q" .latency_ms.max) ms ($(j "$q" .mean_reply_bytes) B replies) | |"
echo "| all-devices view, page $mid of 100 with fields, $(fmt "$dev3") devices, p50 / max | $(j "$q_page" .latency_ms.p50) / $(j "$q_page" .latency_ms.max) ms | |"
