#!/usr/bin/env python3
"""Fleet benchmark (API.md section 7), against release builds and real nats-server processes on
127.0.0.1 (ephemeral ports, a scratch directory removed at exit).

 1. Scan-report ingest with and without --nats, in the same run: a lone `airsift run` (no
    capture source) takes reports from `airsift-scanload` (16 connections, batches of 100,
    100k BSSIDs) for SECONDS: without --nats; with --nats to a port nothing listens on; with
    --nats to one nats-server (JetStream), scan events compact and then JSON. With a server,
    the outbox is then waited for until empty, and the stream is read back with `airsift
    fleet tail`: every acknowledged request must be in it exactly once.
 2. Filter change propagation: a 3-node JetStream cluster and three hosts; CHANGES one-term
    changes posted one after another on host A. For each, the time from sending the POST to
    the moment the last of B and C applied that generation (their log line "filter "capture"
    is at generation N", which they write right after installing it; same clock) and to A's
    reply. Prints p50/p99/max.

usage: scripts/bench-fleet.py [SECONDS] [CHANGES] [ROUNDS]     (defaults: 20 1000 3)

Part 1 runs ROUNDS times, its four runs alternating; CHANGES 0 skips part 2.
"""
import http.client, base64, json, os, re, shutil, socket, subprocess, sys, tempfile, time
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PW = "bench-fleet"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"admin:{PW}".encode()).decode()}
work = tempfile.mkdtemp(prefix="airsift-bench-fleet.")
procs = []
pids = {}
checks = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(args, log, env=None):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                         env=dict(os.environ, **(env or {})))
    procs.append(p)
    return p


def stop(tag):
    """Stops the process started as `tag` (SIGTERM, then waits), removes its state directory
    and waits for the writeback of everything written: the next run's fsyncs must not queue
    behind this run's dirty pages."""
    for p in procs:
        if p.pid == pids[tag] and p.poll() is None:
            p.terminate()
            p.wait(60)
    shutil.rmtree(f"{work}/{tag}", ignore_errors=True)
    os.sync()
    time.sleep(1)


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def nats_cluster(n, tag):
    ports = [(free_port(), free_port(), free_port()) for _ in range(n)]
    routes = ", ".join(f'"nats-route://127.0.0.1:{r}"' for _, r, _ in ports)
    for i, (p, r, m) in enumerate(ports):
        d = f"{work}/{tag}-n{i}"
        os.makedirs(d)
        cluster = (f"cluster {{\n name: bench\n listen: 127.0.0.1:{r}\n routes: [{routes}]\n}}\n"
                   if n > 1 else "")
        conf = (f"server_name: {tag}{i}\nlisten: 127.0.0.1:{p}\nhttp: 127.0.0.1:{m}\n"
                f'jetstream {{\n store_dir: "{d}"\n}}\n{cluster}')
        open(f"{d}.conf", "w").write(conf)
        pids[f"{tag}-nats{i}"] = spawn(["nats-server", "-c", f"{d}.conf"], f"{d}.log").pid
    for _, _, m in ports:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", m, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
    return ",".join(f"nats://127.0.0.1:{p}" for p, _, _ in ports)


def airsift(tag, extra):
    log = f"{work}/{tag}.log"
    p = spawn([f"{ROOT}/target/release/airsift", "run", "--state-dir", f"{work}/{tag}",
               "--listen", "127.0.0.1:0", *extra], log, {"AIRSIFT_ADMIN_PASSWORD": PW})
    pids[tag] = p.pid
    for _ in range(600):
        m = re.search(r"REST API on http://([^/]+)/", open(log).read())
        if m:
            return m.group(1), log
        time.sleep(0.1)
    sys.exit(f"{tag} did not start: {open(log).read()}")


def call(addr, method, path, body=None):
    h, p = addr.split(":")
    c = http.client.HTTPConnection(h, int(p), timeout=30)
    headers = dict(AUTH)
    if body is not None:
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    return r.status, r.read()


def status(addr):
    return json.loads(call(addr, "GET", "/system/status.json")[1])


def wait(what, cond, secs=120):
    end = time.time() + secs
    while not cond():
        if time.time() > end:
            sys.exit(f"timed out: {what}")
        time.sleep(0.05)


def scanload(addr):
    out = subprocess.run([f"{ROOT}/target/release/airsift-scanload", "--addr", addr,
                          "--password", PW, "--seconds", str(SECONDS), "--bssids", "100000"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "control", "--bin", "airsift",
                    "--bin", "airsift-scanload"], cwd=ROOT, check=True)
    print(f"airsift fleet benchmark, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, nats-server "
          + subprocess.run(["nats-server", "--version"], capture_output=True, text=True).stdout.strip())
    print()
    # 1. Ingest without --nats; with --nats to a port nothing listens on (the outbox grows,
    # nothing is published: the cost on the request path alone); with --nats to a server.
    # ROUNDS rounds, the three runs alternating, each on a fresh airsift: this VM's rate
    # moves by a quarter between runs minutes apart, so the ratios are taken within a round.
    urls1 = nats_cluster(1, "one")
    runs, ratios, dead_ratios = [], {"compact": [], "json": []}, []
    for rnd in range(ROUNDS):
        plain, _ = airsift(f"plain{rnd}", [])
        c0 = cpu_s(pids[f"plain{rnd}"])
        r0 = scanload(plain)
        runs.append((f"{rnd + 1}: without --nats", r0, cpu_s(pids[f"plain{rnd}"]) - c0, None))
        stop(f"plain{rnd}")
        dead, _ = airsift(f"dead{rnd}", ["--nats", f"nats://127.0.0.1:{free_port()}",
                                          "--host-id", f"dead{rnd}"])
        c0 = cpu_s(pids[f"dead{rnd}"])
        rd = scanload(dead)
        runs.append((f"{rnd + 1}: with --nats, no server up (outbox only)", rd,
                     cpu_s(pids[f"dead{rnd}"]) - c0, None))
        stop(f"dead{rnd}")
        for fmt in ("compact", "json"):
            host = f"{fmt}{rnd}"
            fleet, _ = airsift(host, ["--nats", urls1, "--host-id", host,
                                      "--fleet-scan-format", fmt])
            wait("the fleet host connected", lambda: status(fleet)["fleet"] == "connected")
            c0, n0 = cpu_s(pids[host]), cpu_s(pids["one-nats0"])
            r1 = scanload(fleet)
            t = time.time()
            wait("the outbox drained",
                 lambda: status(fleet)["airsift.fleet"]["airsift.fleet.outbox_pending"] == 0,
                 600)
            drain = time.time() - t
            runs.append((f"{rnd + 1}: with --nats (scan events {fmt}), one nats-server on this "
                         "machine", r1, cpu_s(pids[host]) - c0, cpu_s(pids["one-nats0"]) - n0))
            stop(host)
            tail = subprocess.run([f"{ROOT}/target/release/airsift", "fleet", "tail", "--nats",
                                   urls1, "--subject", "airsift.scan.>", "--all",
                                   "--idle-exit", "3"],
                                  capture_output=True, text=True, check=True).stdout.splitlines()
            events = [e for e in map(json.loads, tail) if e["data"].get("host") == host]
            ids = {e["id"] for e in events}
            reports = sum(len(e["data"].get("reports", [])) for e in events)
            ratios[fmt].append(r1["reports_per_s"] / r0["reports_per_s"])
            checks.append(f"round {rnd + 1}, {fmt}: the stream holds {len(events):,} scan events "
                          f"of this host ({len(ids):,} distinct ids, {reports:,} reports) for "
                          f"{r1['requests_ok']:,} acknowledged requests "
                          f"({r1['reports_acked']:,} reports); outbox drained {drain:.1f} s "
                          "after the load ended")
            if len(ids) != len(events) or reports != r1["reports_acked"]:
                checks.append("  ^ MISMATCH: not every acknowledged report is in the stream once")
        dead_ratios.append(rd["reports_per_s"] / r0["reports_per_s"])
    print("| run | reports/s acknowledged | p50 / p99 latency | airsift CPU µs/report | "
          "nats-server CPU µs/report |")
    print("|---|---:|---:|---:|---:|")
    for name, r, cpu, ncpu in runs:
        n = r["reports_acked"]
        print(f"| {name} | {r['reports_per_s']:,.0f} | {r['latency_ms']['p50']} / "
              f"{r['latency_ms']['p99']} ms | {cpu / n * 1e6:.2f} | "
              + (f"{ncpu / n * 1e6:.2f} |" if ncpu is not None else "— |"))
    print()
    for fmt, rs in ratios.items():
        print(f"with --nats and a server, scan events {fmt}, per round: "
              + ", ".join(f"{x * 100:.1f} %" for x in rs)
              + f" of the rate without (median {pct(rs, 50) * 100:.1f} %)")
    print("outbox only (no server), per round: "
          + ", ".join(f"{x * 100:.1f} %" for x in dead_ratios)
          + f" (median {pct(dead_ratios, 50) * 100:.1f} %)")
    for c in checks:
        print(c)
    print()
    if CHANGES == 0:
        return
    # 2. Propagation to three hosts.
    urls3 = nats_cluster(3, "three")
    hosts = [airsift(f"host{i}", ["--nats", urls3, "--host-id", f"h{i}"]) for i in range(3)]
    for a, _ in hosts:
        wait("hosts connected", lambda: status(a)["fleet"] == "connected")
    a = hosts[0][0]
    ha, pa = a.split(":")
    conn = http.client.HTTPConnection(ha, int(pa), timeout=30)
    sent, replied = {}, {}
    for i in range(CHANGES):
        mac = "02:00:%02X:%02X:%02X:%02X" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
        body = json.dumps({"filter": {mac: "reject"}})
        t0 = time.time()
        conn.request("POST", "/filters/packet/capture/IEEE802.11/source/set_filter.cmd", body=body,
                     headers=dict(AUTH, **{"Content-Type": "application/json"}))
        r = conn.getresponse()
        doc = json.loads(r.read())
        t1 = time.time()
        if r.status != 200:
            sys.exit(f"change {i}: {r.status} {doc}")
        g = doc["airsift.packetfilter.generation"]
        sent[g], replied[g] = t0, t1
    last = max(sent)
    for addr, _ in hosts[1:]:
        wait("B and C at the last generation",
             lambda: json.loads(call(addr, "GET", "/filters/packet/capture/filter.json")[1])
             ["airsift.packetfilter.generation"] == last)
    applied = {}
    pat = re.compile(r'^(\S+Z) .*filter "capture" is at generation (\d+)')
    for _, log in hosts[1:]:
        for line in open(log):
            m = pat.match(line)
            if m and int(m.group(2)) in sent:
                ts = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
                g = int(m.group(2))
                applied.setdefault(g, []).append(ts)
    full = [max(ts) - sent[g] for g, ts in applied.items() if len(ts) == 2]
    local = [replied[g] - sent[g] for g in sent]
    ms = lambda x: f"{x * 1000:.1f}"
    print(f"| {CHANGES} one-term changes on host A, 3-node cluster | p50 | p99 | max |")
    print("|---|---:|---:|---:|")
    print(f"| POST on A to its reply (applied on A) | {ms(pct(local, 50))} ms | "
          f"{ms(pct(local, 99))} ms | {ms(max(local))} ms |")
    print(f"| POST on A to applied on both B and C ({len(full)} changes) | {ms(pct(full, 50))} ms | "
          f"{ms(pct(full, 99))} ms | {ms(max(full))} ms |")


try:
    main()
finally:
    for p in procs:
        p.kill()
        p.wait()
    shutil.rmtree(work, ignore_errors=True)
