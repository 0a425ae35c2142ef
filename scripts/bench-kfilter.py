#!/usr/bin/env python3
"""Filtered live capture: airsift's user-space filter, its kernel filter (socket filter on
TPACKET_V3) and tcpdump with the equivalent expression, on the radiotap TUN lab device,
injector flat out, same run, same generated capture.

usage: scripts/bench-kfilter.py [--secs S] [--blocked "0 100 1000"] [--capturers LIST]
  (root; builds nothing: run `cargo build --release -p control --bins` first)

The capture: 50,000 radiotap data frames from 2,000 transmitters (25 frames each, spread
through the file), so N blocked transmitters block N/2000 of the frames. For each number of
blocked transmitters and each capturer, the injector cycles the file flat out for S seconds.

Columns: sent (injector), kept (frames in the capturer's file), expected (frames of those
sent that pass the filter, from the file's order), lost = expected - kept, and CPU: the
capturer process's own CPU per frame sent, and the whole machine's (all CPUs, from
/proc/stat: user + nice + system + irq + softirq) per frame sent minus the injector-alone
run's at the same setting. On a TUN device the kernel's receive path, socket filters
included, runs inside the injector's write calls: only the system-wide figure shows it.
"""

import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
NS = "airsift-bench-kf"
FRAMES = 50_000
TRANSMITTERS = 2_000


def mac(i):
    return bytes([0x02, 0xA5, 0x00, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])


def fmt(m):
    return ":".join("%02X" % b for b in m)


def make_capture(path):
    """50k radiotap data frames (ToDS: A1 BSSID, A2 transmitter, A3 destination)."""
    rnd = random.Random(7)
    order = [i % TRANSMITTERS for i in range(FRAMES)]
    rnd.shuffle(order)
    rt = bytes([0, 0, 10, 0]) + struct.pack("<I", (1 << 1) | (1 << 2)) + bytes([0x00, 0x02])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127))
        for n, t in enumerate(order):
            body = bytes([0x08, 0x01, 0, 0]) + mac(0xFFFF00) + mac(t) + mac(0xFF0000 + n % 97)
            body += struct.pack("<H", (n & 0xFFF) << 4) + bytes(range(64))
            rec = rt + body
            f.write(struct.pack("<IIII", n // 100000, n % 100000, len(rec), len(rec)) + rec)
    return order


def write_filters(work, blocked):
    """airsift's filter document and tcpdump's expression blocking transmitters 0..blocked-1."""
    doc = {
        "kismet.packetfilter.id": "capture",
        "kismet.packetfilter.default": 0,
        "kismet.packetfilter.macaddr.blocks_by_phy": {
            "IEEE802.11": {
                "kismet.packetfilter.macaddr.source": {fmt(mac(i)): 1 for i in range(blocked)}
            }
        },
    }
    path = os.path.join(work, "filter-%d.json" % blocked)
    with open(path, "w") as f:
        json.dump(doc, f)
    expr = None
    if blocked:
        expr = "not (" + " or ".join("wlan addr2 " + fmt(mac(i)) for i in range(blocked)) + ")"
    return path, expr


def cpu_total():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    # user nice system idle iowait irq softirq: busy = all but idle and iowait
    return v[0] + v[1] + v[2] + v[5] + v[6]


def proc_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read().rsplit(")", 1)[1].split()
        return int(s[11]) + int(s[12])
    except OSError:
        return 0


def sh(*args, **kw):
    return subprocess.run(args, check=False, capture_output=True, text=True, **kw)


def trial(work, cap, pcap, blocked, filt, expr, order, secs):
    inj = subprocess.Popen(
        ["ip", "netns", "exec", NS, os.path.join(REL, "airsift-inject"), "tun", "--name", "rt0",
         "--pcap", pcap, "--loop", "--duration", str(secs), "--wait-start"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert inj.stdout.readline().strip() == "ready"
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    proc = None
    note = ""
    if cap.startswith("airsift"):
        kf = "on" if cap == "airsift-kernel" else "off"
        proc = subprocess.Popen(
            ["ip", "netns", "exec", NS, os.path.join(REL, "airsift"), "run", "--source",
             "tpacket:rt0", "--log-dir", out, "--state-dir", os.path.join(work, "state"),
             "--no-api", "--json", "--filter", filt, "--kernel-filter", kf],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
    elif cap == "tcpdump":
        args = ["ip", "netns", "exec", NS, "tcpdump", "-B", "65536", "-i", "rt0", "-w",
                os.path.join(out, "cap.pcap")]
        if expr:
            args.append(expr)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
    c0, t0 = cpu_total(), (proc_ticks(proc.pid) if proc else 0)
    inj.stdin.write("go\n")
    inj.stdin.flush()
    line = inj.stdout.readline()
    c1, t1 = cpu_total(), (proc_ticks(proc.pid) if proc else 0)
    sent = int(line.split()[1])
    time.sleep(1)
    kept = None
    if proc:
        proc.send_signal(signal.SIGINT)
        so, se = proc.communicate(timeout=60)
        if cap.startswith("airsift"):
            tot = json.loads([l for l in so.splitlines() if l.startswith("{")][-1])
            kept = tot["log_frames"]
            note = "blocked %d user, %d kernel; ring drops %d" % (
                tot["blocked"], tot.get("kernel_blocked", 0), tot["kernel_drops"])
        else:
            kept = int(sh("capinfos", "-c", "-M", os.path.join(out, "cap.pcap")).stdout
                       .split("Number of packets:")[1].split()[0].replace(",", ""))
            for l in se.splitlines():
                if "dropped by kernel" in l or "failed" in l.lower():
                    note += l.strip() + "; "
    inj.stdin.close()
    ie = inj.stderr.read()
    inj.wait()
    passes_per_file = sum(1 for t in order if t >= blocked)
    full, rest = divmod(sent, len(order))
    expected = full * passes_per_file + sum(1 for t in order[:rest] if t >= blocked)
    ach = [w for w in ie.split() if w.isdigit()]
    return {
        "sent": sent, "kept": kept, "expected": expected, "secs": secs,
        "machine_ticks": c1 - c0, "proc_ticks": t1 - t0, "note": note.strip("; "),
        "rate": sent / secs, "inj": ie.strip().splitlines()[-1] if ie.strip() else "",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=float, default=5)
    ap.add_argument("--blocked", default="0 100 1000")
    ap.add_argument("--capturers", default="none airsift-user airsift-kernel tcpdump")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    for b in ("airsift", "airsift-inject"):
        if not os.access(os.path.join(REL, b), os.X_OK):
            sys.exit("build first: cargo build --release -p control --bins")
    hz = os.sysconf("SC_CLK_TCK")
    work = tempfile.mkdtemp(prefix="airsift-bench-kf.")
    sh("ip", "netns", "del", NS)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        pcap = os.path.join(work, "gen.pcap")
        order = make_capture(pcap)
        rows = []
        for blocked in [int(x) for x in a.blocked.split()]:
            filt, expr = write_filters(work, blocked)
            base = None
            for cap in a.capturers.split():
                r = trial(work, cap, pcap, blocked, filt, expr, order, a.secs)
                per = r["machine_ticks"] / hz / r["sent"] * 1e6
                if cap == "none":
                    base = per
                r["cap"], r["blocked"] = cap, blocked
                r["machine_us"] = per
                r["over_injector_us"] = None if base is None or cap == "none" else per - base
                r["proc_us"] = r["proc_ticks"] / hz / r["sent"] * 1e6
                rows.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
        print("| blocked transmitters | capturer | sent (frames/s) | kept | expected | lost | "
              "capturer CPU µs/frame | machine CPU µs/frame | over injector alone | notes |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            lost = "-" if r["kept"] is None else r["expected"] - r["kept"]
            over = "-" if r["over_injector_us"] is None else "%.3f" % r["over_injector_us"]
            print("| %d | %s | %.0f | %s | %d | %s | %.3f | %.3f | %s | %s |" % (
                r["blocked"], r["cap"], r["rate"], "-" if r["kept"] is None else r["kept"],
                r["expected"], lost, r["proc_us"], r["machine_us"], over, r["note"]))
    finally:
        sh("ip", "netns", "del", NS)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
