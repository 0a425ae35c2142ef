#!/usr/bin/env bash
# Live capture benchmark: the highest injection rate at which each capturer loses no frame over
# SECS seconds, and its CPU time per frame, on the lab veth (frames sent on va, captured on vb)
# and on a radiotap TUN device (rt0, posing as a monitor interface).
#
# Capturers: airsift (`airsift run --source tpacket:IF --workers 1|2`, `--source afxdp:IF:0`),
# tcpdump (-B 65536 -w) and netsniff-ng (-S 256MiB -o). Frames: a real radiotap capture,
# cycled by `inject` at each rate (0 = flat out). Each trial: start the injector (it sets up
# the device and waits), start the capturer and wait until it is ready, send for SECS s, wait
# 2 s (tcpdump and netsniff-ng lose their last ring block if stopped sooner), SIGINT the
# capturer, count what it wrote (capinfos) and read its CPU time (utime + stime from
# /proc/PID/stat while traffic flows). The injector's own count is the reference: lost =
# sent - written. Prints Markdown tables on stdout (progress on stderr).
#
#   usage: scripts/bench-capture.sh [--capturers "LIST"] [--ifaces "veth tun"]
#              [--rates "100000 150000 200000 300000 400000 0"] [--secs 10]
#              [--pcap FILE] [--workdir DIR] [--ns airsift-NAME] [--no-build]
#   capturers: none tcpdump netsniff-ng airsift-tpacket-1 airsift-tpacket-2 airsift-afxdp
#              airsift-notrack-tpacket-1 (--no-track-devices: learning devices from frames off)
#              (none = the injector alone: its ceiling); default: all but the notrack one.
#   env: AIRSIFT (the airsift binary), AIRSIFT_INJECT (the injector binary).
# Needs root, tcpdump, netsniff-ng, capinfos (wireshark-common). Everything runs in a namespace
# of its own (airsift-bench-PID) that is deleted on exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lab=$root/scripts/lab.sh
capturers="none tcpdump netsniff-ng airsift-tpacket-1 airsift-tpacket-2 airsift-afxdp"
ifaces="veth tun"
rates="100000 150000 200000 300000 400000 0"
secs=10
pcap=$root/testdata/captures/rt_aircrack_test1_multins-fcs.pcap
workdir=
ns=airsift-bench-$$
build=1
airsift=${AIRSIFT:-$root/target/release/airsift}
export AIRSIFT_INJECT=${AIRSIFT_INJECT:-$root/target/release/airsift-inject}

die() { echo "bench-capture: $*" >&2; exit 1; }
say() { echo "bench-capture: $*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --capturers) capturers=$2; shift 2 ;;
    --ifaces) ifaces=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    --pcap) pcap=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --ns) ns=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[[ $(id -u) == 0 ]] || die "needs root"
[[ $ns == airsift-* ]] || die "the namespace must be named airsift-*"
[[ -f $pcap ]] || die "no such capture: $pcap"
for t in tcpdump netsniff-ng capinfos; do
  command -v "$t" > /dev/null || die "$t is not installed (apt-get install tcpdump netsniff-ng tshark)"
done
ip netns list | awk '{print $1}' | grep -qx "$ns" && die "namespace $ns already exists"

if [[ -z $workdir ]]; then
  work=$(mktemp -d /tmp/airsift-bench-capture.XXXXXX)
else
  mkdir -p "$workdir"
  work=$(mktemp -d "$workdir/airsift-bench-capture.XXXXXX")
fi
# Children not yet reaped: a PID stays ours (a zombie at worst) until `wait` reaps it, so
# signalling these can never hit somebody else's process.
pids=()
reap() { # signal, wait for and forget every child still listed
  local p t
  exec 7>&- # (a no-op when fd 7 is not open)
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2> /dev/null || true
    for t in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  pids=()
}
forget() { # PID reaped: drop it from the list
  local p keep=()
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}
cleanup() {
  reap
  "$lab" down "$ns" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((build)); then
  (cd "$root" && cargo build --release -q -p control --bin airsift-inject) \
    || { [[ -x $AIRSIFT_INJECT ]] && say "build failed: using the existing $AIRSIFT_INJECT"; } \
    || die "cannot build the injector"
  if [[ $capturers == *airsift* ]]; then
    (cd "$root" && cargo build --release -q -p control --bin airsift) \
      || say "could not build airsift (its rows will use $airsift if it exists)"
  fi
fi
[[ -x $AIRSIFT_INJECT ]] || die "no injector at $AIRSIFT_INJECT"

# Why `airsift run` cannot be benchmarked, or nothing.
airsift_problem() {
  [[ -x $airsift ]] || { echo "no airsift binary at $airsift"; return; }
  "$airsift" run --help > /dev/null 2>&1 || echo "\`airsift run\` is not available in $airsift"
}

clk=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of a process (all its threads)
  local s
  s=$(cat "/proc/$1/stat" 2> /dev/null) || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $((${12} + ${13}))
}
wait_for() { # FILE REGEX TIMEOUT_S [PID that must stay alive]
  local end=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2> /dev/null; do
    ((SECONDS < end)) || return 1
    [[ -z ${4:-} ]] || kill -0 "$4" 2> /dev/null || return 1
    sleep 0.05
  done
}
count_frames() { # frames in one or more capture files
  local n=0 f c
  for f in "$@"; do
    [[ -s $f ]] || continue
    c=$(capinfos -c -M "$f" 2> /dev/null | awk -F: '/Number of packets/ {gsub(/[ ,]/, "", $2); print $2}')
    n=$((n + ${c:-0}))
  done
  echo "$n"
}
per_frame() { # CPU_TICKS FRAMES -> microseconds per frame
  if [[ $2 -gt 0 ]]; then
    printf '%.3f' "$(echo "$1 * 1000000 / $clk / $2" | bc -l)"
  else
    echo -
  fi
}
cap_label() {
  case $1 in
    none) echo "none (injector alone)" ;;
    tcpdump) echo "tcpdump -B 65536" ;;
    netsniff-ng) echo "netsniff-ng -S 256MiB" ;;
    airsift-notrack-tpacket-*) echo "airsift tpacket, ${1##*-} worker(s), devices not learned" ;;
    airsift-tpacket-*) echo "airsift tpacket, ${1##*-} worker(s)" ;;
    airsift-afxdp) echo "airsift afxdp queue 0" ;;
    *) echo "$1" ;;
  esac
}
why() { # the gist of an error output: its panic/error lines, else its end
  local gist
  gist=$(grep -m 3 -iE 'panicked|error|cannot|denied|not found' "$1" 2> /dev/null || true)
  [[ -n $gist ]] || gist=$(tail -c 300 "$1" 2> /dev/null || true)
  echo "$gist" | tr '\n|' ' /' | cut -c1-400
}
rate_label() { if [[ $1 == 0 ]]; then echo "flat out"; else echo "$1"; fi; }

rows=()
best=()
row() { rows+=("$1"); echo "$1" >&2; }

# One trial: sets T_SENT T_ACH T_CAP T_LOST T_CPU T_NOTE, or T_ERR and fails.
trial() {
  T_ERR=
  local rc=0
  trial_inner "$@" || rc=$?
  reap
  # An XDP program left on vb (LAB.md: it survives its process) would skew the next trial.
  if [[ $2 == airsift-afxdp && $1 == veth ]]; then
    ip -n "$ns" link set dev vb xdp off 2> /dev/null || true
  fi
  return $rc
}
trial_inner() {
  local kind=$1 cap=$2 rate=$3
  local dev=vb
  [[ $kind == tun ]] && dev=rt0
  "$lab" up "$ns" 2> /dev/null # idempotent; re-creates the namespace if something removed it
  rm -f "$work"/ctl "$work"/inj.* "$work"/cap.*
  rm -rf "$work/log"
  mkfifo "$work/ctl"
  if [[ $kind == veth ]]; then
    "$lab" inject-veth "$ns" "$pcap" "$rate" --wait-start --loop --duration "$secs" \
      < "$work/ctl" > "$work/inj.out" 2> "$work/inj.err" &
  else
    "$lab" tun "$ns" "$dev" "$pcap" "$rate" --wait-start --loop --duration "$secs" \
      < "$work/ctl" > "$work/inj.out" 2> "$work/inj.err" &
  fi
  local ipid=$!
  pids+=("$ipid")
  exec 7> "$work/ctl"
  if ! wait_for "$work/inj.out" '^ready' 30 "$ipid"; then
    T_ERR="injector failed: $(why "$work/inj.err")"
    return 1
  fi

  local cpid='' ready='' files=()
  case $cap in
    none) ;;
    tcpdump)
      ip netns exec "$ns" tcpdump -B 65536 -w "$work/cap.pcap" -i "$dev" \
        > "$work/cap.out" 2> "$work/cap.err" &
      cpid=$!
      ready='listening on'
      files=("$work/cap.pcap")
      ;;
    netsniff-ng)
      ip netns exec "$ns" netsniff-ng -S 256MiB -o "$work/cap.pcap" -i "$dev" --silent \
        > "$work/cap.out" 2> "$work/cap.err" &
      cpid=$!
      ready='Running'
      files=("$work/cap.pcap")
      ;;
    airsift-*)
      local src
      case $cap in
        airsift-notrack-tpacket-*)
          src=(--source "tpacket:$dev" --workers "${cap##*-}" --no-track-devices) ;;
        airsift-tpacket-*) src=(--source "tpacket:$dev" --workers "${cap##*-}") ;;
        airsift-afxdp) src=(--source "afxdp:$dev:0" --workers 1) ;;
      esac
      mkdir -p "$work/log" "$work/state"
      # Its own state directory: never the host's /var/lib/airsift. The REST API listens on
      # the namespace's own loopback.
      ip netns exec "$ns" "$airsift" run "${src[@]}" --link-type radiotap \
        --log-dir "$work/log" --state-dir "$work/state" --json \
        > "$work/cap.out" 2> "$work/cap.err" &
      cpid=$!
      ;;
  esac
  if [[ -n $cpid ]]; then
    pids+=("$cpid")
    if [[ -n $ready ]]; then
      wait_for "$work/cap.out" "$ready" 15 "$cpid" || wait_for "$work/cap.err" "$ready" 1 "$cpid" || true
      sleep 1 # ring set-up done; let it settle
    else
      sleep 3 # no readiness line known: give it time to attach
    fi
    if ! kill -0 "$cpid" 2> /dev/null; then
      T_ERR="capturer exited at start: $(why "$work/cap.err")"
      return 1
    fi
  fi
  local c0=0 c1=0
  [[ -z $cpid ]] || c0=$(cpu_ticks "$cpid")
  echo go >&7
  if ! wait_for "$work/inj.out" '^sent ' $((secs * 3 + 30)) "$ipid"; then
    T_ERR="injector failed: $(why "$work/inj.err")"
    return 1
  fi
  if [[ -n $cpid ]]; then
    sleep 2
    c1=$(cpu_ticks "$cpid")
    kill -INT "$cpid" 2> /dev/null || true
    local t
    for t in $(seq 300); do kill -0 "$cpid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$cpid" 2> /dev/null || true
    wait "$cpid" 2> /dev/null || true
    forget "$cpid"
  fi
  exec 7>&- # the injector exits (tun: the device goes away)
  wait "$ipid" 2> /dev/null || true
  forget "$ipid"

  T_SENT=$(sed -n 's/^sent \([0-9]*\)$/\1/p' "$work/inj.out")
  T_ACH=$(sed -n 's/.* = \([0-9]*\) frames\/s.*/\1/p' "$work/inj.err")
  T_NOTE=
  [[ -n $T_SENT ]] || { T_ERR="no count from the injector"; return 1; }
  T_ICPU=$(sed -n 's/.*in send calls: \([0-9.]*\) µs\/frame.*/\1/p' "$work/inj.err")
  if [[ -z $cpid ]]; then
    T_CAP=-
    T_LOST=-
    T_CPU=-
    return 0
  fi
  case $cap in
    airsift-*)
      files=("$work"/log/*)
      local json
      json=$(grep -E '^\{' "$work/cap.out" | tail -1 || true)
      if [[ -z $json ]]; then
        T_ERR="no JSON totals from airsift: $(why "$work/cap.err")"
        return 1
      fi
      T_NOTE=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("json: " + ", ".join("%s %s" % (k, j.get(k)) for k in ("frames", "passed", "kernel_drops", "sink_drops")))' "$json" 2> /dev/null || echo "json: $json")
      ;;
    tcpdump) T_NOTE="kernel drops $(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$work/cap.err")" ;;
    netsniff-ng) T_NOTE="$(grep -oE '[0-9.]+% packet droprate' "$work/cap.out" "$work/cap.err" 2> /dev/null | head -1 | sed 's/.*://')" ;;
  esac
  T_CAP=$(count_frames "${files[@]}")
  T_LOST=$((T_SENT - T_CAP))
  T_CPU=$(per_frame $((c1 - c0)) "$T_CAP")
  rm -f "${files[@]}"
  return 0
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
say "namespace $ns, work dir $work, $secs s per trial, frames from $(basename "$pcap")"
"$lab" up "$ns"
for kind in $ifaces; do
  for cap in $capturers; do
    lbl=$(cap_label "$cap")
    if [[ $cap == airsift-* ]]; then
      problem=$(airsift_problem)
      if [[ -n $problem ]]; then
        row "| $kind | $lbl | - | - | - | - | - | - | - | - | FAILED: $problem |"
        best+=("| $kind | $lbl | FAILED: $problem | | |")
        continue
      fi
    fi
    top=none top_ach='' top_cpu=
    for rate in $rates; do
      say "$kind / $lbl / $(rate_label "$rate") ..."
      T_ERR=
      if trial "$kind" "$cap" "$rate"; then
        if [[ $T_LOST == - ]]; then
          loss=-
        else
          loss=$(printf '%.3f' "$(echo "100 * $T_LOST / $T_SENT" | bc -l)")
          if ((T_LOST == 0 && T_ACH > ${top_ach:-0})); then
            top=$(rate_label "$rate") top_ach=$T_ACH top_cpu=$T_CPU
          fi
        fi
        row "| $kind | $lbl | $(rate_label "$rate") | $T_ACH | $T_SENT | $T_CAP | $T_LOST | $loss | $T_CPU | $T_ICPU | ${T_NOTE:+$T_NOTE; }load $(cut -d' ' -f1 /proc/loadavg) |"
      else
        row "| $kind | $lbl | $(rate_label "$rate") | - | - | - | - | - | - | - | FAILED: $T_ERR |"
      fi
    done
    [[ $cap == none ]] || best+=("| $kind | $lbl | $top | ${top_ach:--} | ${top_cpu:--} |")
  done
done

echo
echo "Capture benchmark: $(basename "$pcap") cycled, $secs s per trial, $(nproc) cores, kernel $(uname -r), load average at start $load0, at end $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "Capturer CPU: utime + stime of the capturer process (all threads) from the start of traffic"
echo "to 2 s after it, per frame written. On veth and TUN the kernel's receive path (copying"
echo "into the capturer's ring, waking it) runs inside the injector's send calls, so it is"
echo "counted in the injector column (thread CPU time spent in send calls per frame sent), not"
echo "the capturer's: its excess over the injector-alone row at the same rate is that cost."
echo
echo "| interface | capturer | requested (frames/s) | achieved (frames/s) | sent | written | lost | loss % | capturer CPU µs/frame | injector CPU in send calls µs/frame | notes |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| interface | capturer | highest zero-loss rate | achieved there (frames/s) | CPU µs/frame there |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${best[@]}"
