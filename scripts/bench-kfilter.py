#!/usr/bin/env python3
"""Filtered live capture, on the radiotap TUN lab device and on the lab veth, injector flat
out, same run, same generated capture:
- airsift-user: TPACKET_V3, the user-space filter;
- airsift-kernel: TPACKET_V3 with the kernel filter (socket filter);
- airsift-afxdp, airsift-afxdp-kernel: AF_XDP, without and with the kernel filter's XDP
  program (veth only);
- tcpdump with the equivalent expression (`wlan addr2` on the TUN, whose link type is radiotap;
  byte offsets on the veth, an Ethernet device, since this capture's radiotap header is always
  10 bytes);
- netsniff-ng with the same filter written in bpfc's assembly (5 instructions a term) and
  compiled by bpfc.

usage: scripts/bench-kfilter.py [--secs S] [--blocked "0 100 1000"] [--ifaces "tun veth"]
                                [--capturers LIST] [--zero-loss] [--rounds N]
                                [--inject-threads T]
  (root; builds nothing: run `cargo build --release -p control --bins` first)

--rounds N: the whole matrix N times, each round starting the capturers in another order, and
one line per row with the medians (CPU over the injector alone is taken within each round).

--inject-threads T: the injector sends from T threads (on the TUN, one queue each; on the
veth, one packet socket each), for rates one thread cannot reach. The threads share the two
CPUs with the capturer, so the capturer works under more contention, not less.

--zero-loss: instead of the flat-out table, each capturer's zero-loss rate: a first trial
flat out (lossless there: the rate is at least the injector's maximum, reported as ">= R");
otherwise a bisection of the injector's paced rate (`airsift-inject --rate`) between 0 and the
rate it reached flat out, down to 5 %: a trial counts as lossless when the capturer kept
every frame it should and the injector reached at least 97 % of the asked rate.

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
    exprs = {"tun": None, "veth": None}
    if blocked:
        exprs["tun"] = "not (" + " or ".join("wlan addr2 " + fmt(mac(i))
                                             for i in range(blocked)) + ")"
        # addr2 at 10 (radiotap) + 10; the veth's link type is Ethernet, so by offset.
        exprs["veth"] = "not (" + " or ".join(
            "(ether[20:4] = 0x%08x and ether[24:2] = 0x%04x)" % (
                struct.unpack(">I", mac(i)[:4])[0], struct.unpack(">H", mac(i)[4:])[0])
            for i in range(blocked)) + ")"
    # bpfc: X = the radiotap length (little-endian), M[0]/M[1] = addr2's first 4 and last 2
    # bytes, then per term: equal to both, drop; end: keep the whole frame.
    asm = ["ldb [3]", "lsh #8", "tax", "ldb [2]", "add x", "tax",
           "ld [x + 10]", "st M[0]", "ldh [x + 14]", "st M[1]"]
    for i in range(blocked):
        hi, lo = struct.unpack(">I", mac(i)[:4])[0], struct.unpack(">H", mac(i)[4:])[0]
        asm += ["t%d: ld M[0]" % i, "jne #0x%08x, t%d" % (hi, i + 1), "ld M[1]",
                "jne #0x%04x, t%d" % (lo, i + 1), "ret #0"]
    asm.append("t%d: ret #-1" % blocked)
    src = os.path.join(work, "filter-%d.bpfc" % blocked)
    with open(src, "w") as f:
        f.write("\n".join(asm) + "\n")
    bpf = os.path.join(work, "filter-%d.bpf" % blocked)
    with open(bpf, "w") as f:
        r = subprocess.run(["bpfc", "-i", src], stdout=f, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        # Classic BPF's limit (4,096 instructions): netsniff-ng cannot filter this at all.
        bpf = "bpfc refused the filter (%d instructions): %s" % (
            len(asm), r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
    return path, exprs, bpf


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


def trial(work, iface, cap, pcap, blocked, filt, expr, bpf, order, secs, rate=0, queues=1):
    dev = "rt0" if iface == "tun" else "vb"
    mode = (["tun", "--name", "rt0", "--queues", str(queues)] if iface == "tun"
            else ["veth", "--iface", "va", "--threads", str(queues)])
    inj = subprocess.Popen(
        ["ip", "netns", "exec", NS, os.path.join(REL, "airsift-inject"), *mode,
         "--pcap", pcap, "--loop", "--duration", str(secs), "--wait-start",
         "--rate", str(int(rate))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert inj.stdout.readline().strip() == "ready"
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    proc = None
    note = ""
    if cap.startswith("airsift"):
        kf = "on" if cap.endswith("-kernel") else "off"
        kind = "afxdp" if "afxdp" in cap else "tpacket"
        proc = subprocess.Popen(
            ["ip", "netns", "exec", NS, os.path.join(REL, "airsift"), "run", "--source",
             "%s:%s" % (kind, dev), "--link-type", "radiotap", "--log-dir", out,
             "--state-dir", os.path.join(work, "state"), "--no-api", "--json", "--filter", filt,
             "--kernel-filter", kf],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
    elif cap == "tcpdump":
        args = ["ip", "netns", "exec", NS, "tcpdump", "-B", "65536", "-i", dev, "-w",
                os.path.join(out, "cap.pcap")]
        if expr:
            args.append(expr)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
    elif cap == "netsniff-ng":
        proc = subprocess.Popen(
            ["ip", "netns", "exec", NS, "netsniff-ng", "--in", dev, "--out",
             os.path.join(out, "cap.pcap"), "--silent", "--ring-size", "64MiB", "--filter", bpf],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
    c0, t0 = cpu_total(), (proc_ticks(proc.pid) if proc else 0)
    inj.stdin.write("go\n")
    inj.stdin.flush()
    line = inj.stdout.readline()
    c1, t1 = cpu_total(), (proc_ticks(proc.pid) if proc else 0)
    # "sent TOTAL" or, with several sending threads, "sent TOTAL N1 .. NT" (each thread
    # cycles through the whole file).
    parts = line.split()
    sent = int(parts[1])
    per_thread = [int(x) for x in parts[2:]] or [sent]
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
            for l in (se + so).splitlines():
                if ("dropped by kernel" in l or "failed" in l.lower() or "error" in l.lower()
                        or "drop" in l.lower()):
                    note += l.strip() + "; "
    inj.stdin.close()
    ie = inj.stderr.read()
    inj.wait()
    passes_per_file = sum(1 for t in order if t >= blocked)
    expected = 0
    for n in per_thread:
        full, rest = divmod(n, len(order))
        expected += full * passes_per_file + sum(1 for t in order[:rest] if t >= blocked)
    ach = [w for w in ie.split() if w.isdigit()]
    return {
        "sent": sent, "kept": kept, "expected": expected, "secs": secs,
        "machine_ticks": c1 - c0, "proc_ticks": t1 - t0, "note": note.strip("; "),
        "rate": sent / secs, "inj": ie.strip().splitlines()[-1] if ie.strip() else "",
    }


def lossless(r, asked):
    """Whether a trial kept every frame it should, at (nearly) the rate asked."""
    kept_all = r["kept"] is not None and r["kept"] >= r["expected"]
    return kept_all and (asked == 0 or r["rate"] >= 0.97 * asked)


def zero_loss_rate(run):
    """The highest lossless injector rate for one capturer: `run(rate)` makes one trial
    (rate 0: flat out). Returns (rate, at_least, trials)."""
    trials = []
    first = run(0)
    trials.append((0, first))
    if lossless(first, 0):
        return first["rate"], True, trials
    lo, hi = 0.0, first["rate"]
    while hi - lo > 0.05 * hi:
        mid = (lo + hi) / 2
        r = run(mid)
        trials.append((mid, r))
        if lossless(r, mid):
            lo = mid
        else:
            hi = mid
    return lo, False, trials


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2


def print_medians(rows):
    """One line per device, setting and capturer over the rounds: the sender's median rate,
    the most frames lost in any round, and the median (and every round's) machine CPU over
    the injector alone in the same round."""
    print("| device | blocked | capturer | sender frames/s (median) | most lost in a round | "
          "machine CPU over injector µs/frame: median (each round) |")
    print("|---|---:|---|---:|---:|---|")
    keys = []
    for r in rows:
        k = (r["iface"], r["blocked"], r["cap"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        rs = [r for r in rows if (r["iface"], r["blocked"], r["cap"]) == k]
        if "skip" in rs[0]:
            print("| %s | %d | %s | - | - | %s |" % (*k, rs[0]["skip"]))
            continue
        if k[2] == "none":
            print("| %s | %d | none | %.0f | - | (baseline: machine %.3f µs/frame) |" % (
                *k[:2], median([r["rate"] for r in rs]),
                median([r["machine_us"] for r in rs])))
            continue
        over = [r["over_injector_us"] for r in rs]
        lost = max(r["expected"] - r["kept"] for r in rs)
        print("| %s | %d | %s | %.0f | %d | %.3f (%s) |" % (
            *k, median([r["rate"] for r in rs]), lost, median(over),
            ", ".join("%.3f" % o for o in over)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=float, default=5)
    ap.add_argument("--blocked", default="0 100 1000")
    ap.add_argument("--ifaces", default="tun veth")
    ap.add_argument("--capturers", default="none airsift-user airsift-kernel airsift-afxdp "
                    "airsift-afxdp-kernel tcpdump netsniff-ng")
    ap.add_argument("--zero-loss", action="store_true")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--inject-threads", type=int, default=1)
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
    # The lab veth: va (the injector's) and vb (the capturers'), up, MTU 9000, IPv6 off.
    sh("ip", "netns", "exec", NS, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
    sh("ip", "netns", "exec", NS, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
    subprocess.run(["ip", "-n", NS, "link", "add", "va", "type", "veth", "peer", "name", "vb"],
                   check=True)
    for d in ("va", "vb"):
        subprocess.run(["ip", "-n", NS, "link", "set", d, "mtu", "9000", "up"], check=True)
    try:
        pcap = os.path.join(work, "gen.pcap")
        order = make_capture(pcap)
        rows = []
        caps = a.capturers.split()
        for rnd in range(a.rounds):
          # Each round starts the capturers in another order (the baseline `none` first).
          rest = [c for c in caps if c != "none"]
          turn = rest[rnd % len(rest):] + rest[:rnd % len(rest)] if rest else []
          order_caps = (["none"] if "none" in caps else []) + turn
          for iface in a.ifaces.split():
            for blocked in [int(x) for x in a.blocked.split()]:
              filt, exprs, bpf = write_filters(work, blocked)
              base = None
              for cap in order_caps:
                  if "afxdp" in cap and iface != "veth":
                      continue
                  if a.zero_loss:
                      if cap == "none":
                          continue
                      if cap == "netsniff-ng" and not bpf.startswith("/"):
                          rows.append({"iface": iface, "blocked": blocked, "cap": cap,
                                       "skip": bpf})
                          continue
                      rate, at_least, trials = zero_loss_rate(
                          lambda r: trial(work, iface, cap, pcap, blocked, filt, exprs[iface],
                                          bpf, order, a.secs, r, a.inject_threads))
                      for asked, r in trials:
                          print("%s %d %s asked %.0f: sent %.0f/s, kept %s of %d" % (
                              iface, blocked, cap, asked, r["rate"], r["kept"], r["expected"]),
                              file=sys.stderr, flush=True)
                      rows.append({"iface": iface, "blocked": blocked, "cap": cap,
                                   "zero_loss": rate, "at_least": at_least,
                                   "trials": len(trials)})
                      continue
                  if cap == "netsniff-ng" and not bpf.startswith("/"):
                      print("| %s | %d | netsniff-ng | - | - | - | - | - | - | - | %s |"
                            % (iface, blocked, bpf), file=sys.stderr)
                      rows.append({"iface": iface, "blocked": blocked, "cap": cap, "skip": bpf})
                      continue
                  r = trial(work, iface, cap, pcap, blocked, filt, exprs[iface], bpf, order,
                            a.secs, queues=a.inject_threads)
                  per = r["machine_ticks"] / hz / r["sent"] * 1e6
                  if cap == "none":
                      base = per
                  r["cap"], r["blocked"], r["iface"], r["round"] = cap, blocked, iface, rnd
                  r["machine_us"] = per
                  r["over_injector_us"] = None if base is None or cap == "none" else per - base
                  r["proc_us"] = r["proc_ticks"] / hz / r["sent"] * 1e6
                  rows.append(r)
                  print(json.dumps(r), file=sys.stderr, flush=True)
        if a.zero_loss:
            print("| device | blocked transmitters | capturer | zero-loss rate (frames/s) | "
                  "trials |")
            print("|---|---:|---|---:|---:|")
            for r in rows:
                if "skip" in r:
                    print("| %s | %d | %s | - | %s |" % (r["iface"], r["blocked"], r["cap"],
                                                        r["skip"]))
                else:
                    print("| %s | %d | %s | %s%.0f | %d |" % (
                        r["iface"], r["blocked"], r["cap"], ">= " if r["at_least"] else "",
                        r["zero_loss"], r["trials"]))
            return
        if a.rounds > 1:
            print_medians(rows)
            return
        print("| device | blocked transmitters | capturer | sent (frames/s) | kept | expected | "
              "lost | capturer CPU µs/frame | machine CPU µs/frame | over injector alone | "
              "notes |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            if "skip" in r:
                print("| %s | %d | %s | - | - | - | - | - | - | - | %s |" % (
                    r["iface"], r["blocked"], r["cap"], r["skip"]))
                continue
            lost = "-" if r["kept"] is None else r["expected"] - r["kept"]
            over = "-" if r["over_injector_us"] is None else "%.3f" % r["over_injector_us"]
            print("| %s | %d | %s | %.0f | %s | %d | %s | %.3f | %.3f | %s | %s |" % (
                r["iface"], r["blocked"], r["cap"], r["rate"],
                "-" if r["kept"] is None else r["kept"],
                r["expected"], lost, r["proc_us"], r["machine_us"], over, r["note"]))
    finally:
        sh("ip", "netns", "del", NS)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
