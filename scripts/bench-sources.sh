#!/usr/bin/env bash
# Datasources at runtime (API.md section 5), on the lab veths, release build, REST API inside
# the namespace. Two measurements:
#  1. add_source to first frame: while frames flow on vc -> vd at 10k frames/s, a TPACKET
#     source on vd is added, its record polled every millisecond until it has counted a frame,
#     then closed; repeated N times: the add_source reply time and the time to the first frame
#     judged (p50/p99/max).
#  2. a source capturing vb at RATE frames/s while another source on vd is added and closed
#     CYCLES times: frames injected vs captured and kernel drops of the steady source.
# Needs root.
#   usage: scripts/bench-sources.sh [RATE=200000] [CYCLES=100] [FIRST_FRAME_RUNS=50]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-200000}; cycles=${2:-100}; runs=${3:-50}
ns=airsift-srcbench-$$
work=$(mktemp -d /tmp/airsift-srcbench.XXXXXX)
pw=bench
port=2512
cleanup() {
  kill "${ipid:-}" "${apid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -n "${BIN:-}" ] || cargo build --release -q -p control --bin airsift --bin airsift-inject
bin=${BIN:-target/release}
cap=testdata/captures/rt_aircrack_test1_multins-fcs.pcap
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'
for pair in "va vb" "vc vd"; do
  set -- $pair
  ip -n "$ns" link add "$1" type veth peer name "$2"
  ip -n "$ns" link set "$1" mtu 9000 up
  ip -n "$ns" link set "$2" mtu 9000 up
done
ip netns exec "$ns" env AIRSIFT_ADMIN_PASSWORD=$pw "$bin/airsift" run --state-dir "$work/state" \
  --listen 127.0.0.1:$port --json > "$work/totals.json" 2> "$work/airsift.err" &
apid=$!
sleep 1.5

# The REST client: Python's standard library, run inside the namespace.
cat > "$work/client.py" <<'EOF'
import base64, http.client, json, sys, threading, time

PORT, PW = int(sys.argv[2]), sys.argv[3]
AUTH = {"Authorization": "Basic " + base64.b64encode(f"admin:{PW}".encode()).decode(),
        "Content-Type": "application/json"}

def call(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=AUTH)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data)

def add(defn):
    return call("POST", "/datasource/add_source.cmd", {"definition": defn})

def record(uuid):
    return call("GET", f"/datasource/by-uuid/{uuid}/source.json")

def close(uuid):
    call("GET", f"/datasource/by-uuid/{uuid}/close_source.cmd")

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

mode = sys.argv[1]
if mode == "first-frame":
    runs = int(sys.argv[4])
    replies, firsts = [], []
    for i in range(runs):
        t0 = time.perf_counter()
        rec = add(f"tpacket:vd:link_type=radiotap,name=probe-{i}")
        t1 = time.perf_counter()
        uuid = rec["kismet.datasource.uuid"]
        while record(uuid)["kismet.datasource.num_packets"] == 0:
            time.sleep(0.001)
        t2 = time.perf_counter()
        close(uuid)
        replies.append((t1 - t0) * 1e3)
        firsts.append((t2 - t0) * 1e3)
    for name, v in (("add_source reply", replies), ("add_source to first frame counted", firsts)):
        print(f"| {name} | {runs} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | {max(v):.2f} |")
elif mode == "steady":
    cycles = int(sys.argv[4])
    steady = add("tpacket:vb:link_type=radiotap,name=steady")["kismet.datasource.uuid"]
    print(steady, flush=True)
    sys.stdin.readline()  # the injector runs
    t0 = time.perf_counter()
    for i in range(cycles):
        close(add(f"tpacket:vd:link_type=radiotap,name=cycle-{i}")["kismet.datasource.uuid"])
    print(f"{cycles} {time.perf_counter() - t0:.2f}", flush=True)
elif mode == "record":
    print(json.dumps(record(sys.argv[4])["airsift.datasource.counters"]))
EOF
py() { ip netns exec "$ns" python3 "$work/client.py" "$1" $port $pw "${@:2}"; }

# 1. add_source to first frame, with frames flowing on vc -> vd.
ip netns exec "$ns" "$bin/airsift-inject" veth --iface vc --pcap "$cap" --rate 10000 --loop \
  2> "$work/inject-vc.log" &
ipid=$!
echo "| measurement | runs | p50 (ms) | p99 (ms) | max (ms) |"
echo "|---|---:|---:|---:|---:|"
py first-frame "$runs"

# 2. A steady source while another is added and closed CYCLES times (vc -> vd keeps flowing,
#    so every added source captures while it lives).
coproc STEADY { py steady "$cycles"; }
read -r steady <&"${STEADY[0]}"
secs=$(( cycles / 10 + 5 ))
ip netns exec "$ns" "$bin/airsift-inject" veth --iface va --pcap "$cap" --rate "$rate" \
  --count $(( rate * secs )) 2> "$work/inject-va.log" &
vapid=$!
echo go >&"${STEADY[1]}"
read -r done_cycles took <&"${STEADY[0]}"
wait $vapid
sleep 1
sent=$(grep -o 'sent [0-9]* frames' "$work/inject-va.log" | awk '{print $2}')
achieved=$(grep -o '= [0-9]* frames/s' "$work/inject-va.log" | awk '{print $2}')
counters=$(py record "$steady")
captured=$(echo "$counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
drops=$(echo "$counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["kernel_drops"])')
echo
echo "| steady source | injected | captured | kernel drops | injection rate (frames/s) | add/close cycles meanwhile |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| tpacket:vb, 1 worker | $sent | $captured | $drops | $achieved | $done_cycles in ${took} s |"
