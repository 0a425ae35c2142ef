#!/usr/bin/env bash
# The hardware-free capture lab: a network namespace holding a veth pair (va -> vb) into which
# `inject` sends real radiotap frames, and radiotap TUN devices posing as monitor interfaces.
# Nothing here touches the host's interfaces: everything lives in a namespace named airsift-*,
# and only namespaces this script created (marked under /run/airsift-lab) are ever deleted.
#
#   scripts/lab.sh up          [NS]                        namespace + veth va/vb (MTU 9000, up)
#   scripts/lab.sh down        [NS]                        delete the namespace (and all in it)
#   scripts/lab.sh status      [NS]
#   scripts/lab.sh inject-veth [NS] PCAP RATE [inject args]  send PCAP on va (receive on vb)
#   scripts/lab.sh tun         [NS] NAME PCAP RATE [inject args]  radiotap TUN device NAME
#   scripts/lab.sh exec        [NS] CMD [ARGS]             run a command in the namespace
#
# NS defaults to airsift-lab (or $AIRSIFT_NS) and must start with "airsift-". RATE is frames/s,
# 0 = flat out. Extra arguments go to the injector: --count N | --loop, --duration S,
# --wait-start, --batch B, --method mmsg|ring (veth). See scripts/README.md. Needs root.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inject=${AIRSIFT_INJECT:-$root/target/release/airsift-inject}
marks=/run/airsift-lab
default_ns=${AIRSIFT_NS:-airsift-lab}

die() { echo "lab.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2; }

# A lab namespace name: prefix airsift-, and nothing ip(8) or a path could misread.
check_name() {
  [[ $1 == airsift-* ]] || die "refusing namespace '$1': lab namespaces are named airsift-*"
  [[ $1 =~ ^[A-Za-z0-9_.-]{1,64}$ && $1 != *..* ]] || die "bad namespace name '$1'"
}
ns_exists() { [[ -e /run/netns/$1 ]]; }
ours() { [[ -e $marks/$1 ]]; }
need_root() { [[ $(id -u) == 0 ]] || die "needs root (network namespaces, raw sockets)"; }
# The namespace must exist and have been created by `lab.sh up`.
need_lab() {
  ns_exists "$1" || die "namespace $1 does not exist (run: scripts/lab.sh up $1)"
  ours "$1" || die "namespace $1 was not created by lab.sh; not touching it"
}

build_inject() {
  [[ -x $inject ]] && return
  echo "lab.sh: building the injector (cargo build --release -p control --bin airsift-inject)" >&2
  (cd "$root" && cargo build --release -p control --bin airsift-inject >&2) \
    || die "could not build the injector"
}

cmd_up() {
  local ns=$1
  if ns_exists "$ns"; then
    ours "$ns" || die "namespace $ns exists but was not created by lab.sh; not touching it"
  else
    mkdir -p "$marks"
    ip netns add "$ns"
    : > "$marks/$ns"
  fi
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" link show va > /dev/null 2>&1; then
    ip -n "$ns" link add va type veth peer name vb
  fi
  local i
  for i in va vb; do
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
    ip -n "$ns" link set "$i" mtu 9000 up
  done
  echo "lab.sh: namespace $ns up: va -> vb (MTU 9000)" >&2
}

cmd_down() {
  local ns=$1
  if ! ns_exists "$ns"; then
    rm -f "$marks/$ns"
    echo "lab.sh: namespace $ns does not exist" >&2
    return
  fi
  ours "$ns" || die "namespace $ns was not created by lab.sh; not touching it"
  # Processes still inside would keep the namespace (and its devices) alive: end them.
  local pids
  pids=$(ip netns pids "$ns" | tr '\n' ' ')
  if [[ -n ${pids// /} ]]; then
    echo "lab.sh: stopping processes still in $ns: $pids" >&2
    # shellcheck disable=SC2086
    kill -TERM $pids 2> /dev/null || true
    local _
    for _ in $(seq 30); do
      [[ -z $(ip netns pids "$ns") ]] && break
      sleep 0.1
    done
    pids=$(ip netns pids "$ns" | tr '\n' ' ')
    # shellcheck disable=SC2086
    [[ -z ${pids// /} ]] || kill -KILL $pids 2> /dev/null || true
  fi
  ip netns del "$ns"
  rm -f "$marks/$ns"
  echo "lab.sh: namespace $ns deleted" >&2
}

cmd_status() {
  local ns=$1
  if ! ns_exists "$ns"; then
    echo "namespace $ns: absent"
    return
  fi
  if ours "$ns"; then echo "namespace $ns: up (created by lab.sh)"; else
    echo "namespace $ns: exists, NOT created by lab.sh"
  fi
  ip -n "$ns" -br link
  local i
  for i in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [[ $i == lo ]] && continue
    ip -n "$ns" -s link show "$i" | awk -v i="$i" '
      /RX:/ {getline; printf "%s: rx %s frames %s dropped", i, $2, $4}
      /TX:/ {getline; printf ", tx %s frames %s dropped\n", $2, $4}'
  done
  local pids
  pids=$(ip netns pids "$ns" | tr '\n' ' ')
  if [[ -n ${pids// /} ]]; then
    echo "processes:"
    # shellcheck disable=SC2086
    ps -o pid=,args= -p $pids
  fi
}

# NS is optional before the other arguments; it is present when the argument at the PCAP
# position is not a file but the one after it is.
main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1
  shift
  case $cmd in
    up | down | status)
      local ns=${1:-$default_ns}
      [[ $# -le 1 ]] || usage
      check_name "$ns"
      need_root
      "cmd_$cmd" "$ns"
      ;;
    inject-veth)
      local ns=$default_ns
      if [[ $# -ge 3 && ! -f $1 && -f $2 ]]; then ns=$1; shift; fi
      [[ $# -ge 2 ]] || usage
      local pcap=$1 rate=$2
      shift 2
      check_name "$ns"
      need_root
      need_lab "$ns"
      [[ -f $pcap ]] || die "no such capture file: $pcap"
      build_inject
      exec ip netns exec "$ns" "$inject" veth --iface va --pcap "$pcap" --rate "$rate" "$@"
      ;;
    tun)
      local ns=$default_ns
      if [[ $# -ge 4 && ! -f $2 && -f $3 ]]; then ns=$1; shift; fi
      [[ $# -ge 3 ]] || usage
      local name=$1 pcap=$2 rate=$3
      shift 3
      check_name "$ns"
      need_root
      need_lab "$ns"
      [[ -f $pcap ]] || die "no such capture file: $pcap"
      build_inject
      exec ip netns exec "$ns" "$inject" tun --name "$name" --pcap "$pcap" --rate "$rate" "$@"
      ;;
    exec)
      local ns=$default_ns
      if [[ $# -ge 2 && $1 == airsift-* ]]; then ns=$1; shift; fi
      [[ $# -ge 1 ]] || usage
      check_name "$ns"
      need_root
      need_lab "$ns"
      exec ip netns exec "$ns" "$@"
      ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (up, down, status, inject-veth, tun, exec)" ;;
  esac
}

main "$@"
