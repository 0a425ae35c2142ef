#!/usr/bin/env python3
"""One-term changes to a large capture filter: the latency from a POST to the change being
applied, in user space and in the kernel filter. Against a release `airsift run` capturing
with TPACKET_V3 and the kernel filter on (`tpacket:vb --kernel-filter on --workers 1`, its maps
sized for twice the filter with --kernel-filter-capacity), in a
network namespace of its own (`airsift-fchg-<pid>`: lo, the veth va/vb, MTU 9000), REST API on
127.0.0.1 inside it. No frames are sent: this measures the control path only.

usage: scripts/bench-filter-change.py [--sizes 1000,100000,1000000] [--changes 1000] [--no-build]
  (root; builds `cargo build --release -q -p control --bin airsift` unless --no-build)

For each size N, on a fresh airsift (fresh state and log directories):
 1. loads N distinct exact MAC terms (seeded pseudo-random, locally administered 02:...) into
    block `source` of the capture filter as `block`, with
    POST /filters/packet/capture/IEEE802.11/source/set_filter.cmd, at most 65,536 terms a
    request (the server's limit); the bodies are encoded before the clock starts;
 2. makes CHANGES one-term changes one after another, alternating: add a term not in the
    filter (set_filter.cmd), remove it again (remove_filter.cmd), so the filter stays at N terms.
    Each POST's round trip (request sent to the last byte of the reply) is timed with
    time.perf_counter() on one keep-alive connection; the client logs in with Basic once and
    then sends the session cookie it got, so no request pays for a password check;
 3. reads back /filters/packet/capture/filter.json (its IEEE802.11 `source` block must hold
    exactly the N loaded terms, all blocked, or the run fails) and /dataplane/stats.json once
    (its keys naming the kernel filter are printed: state, generation, why not usable).

Columns (times in ms; percentiles by nearest rank over the CHANGES replies):
  round trip     measured by this client;
  store, table,  the server's own account of each change, from the reply's
  kernel         "airsift.packetfilter.apply" object: store_us (stored durably), table_us
                 (user-space table updated and published), kernel_us (kernel maps written);
  kernel writes  its kernel_writes, the map keys one change wrote (median).
Replies without that object give n/a. The machine (nproc, CPU model, kernel) is printed first,
then the table once every size has run (or as far as it got), then notes per size: the load
rate, the read-back check and the kernel filter's state. Progress goes to stderr.

The client runs inside the namespace: this script starts itself again there
(`ip netns exec NS python3 THIS --inner ...`) for each size, and reads its samples from a file.
The namespace, airsift and the scratch directory are removed on exit, Ctrl-C and errors too.
"""

import argparse
import base64
import http.client
import http.cookies
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
AIRSIFT = os.path.join(TARGET, "release", "airsift")
THIS = os.path.abspath(__file__)

PASSWORD = "bench"
BASE_PORT = 2511
SEED = 7
CHUNK = 65_536  # control/src/api/filters.rs MAX_TERMS_PER_REQUEST
READY_S = 30
STOP_S = 10
HTTP_TIMEOUT_S = 600

FILTER = "/filters/packet/capture"
SET_TERMS = FILTER + "/IEEE802.11/source/set_filter.cmd"
REMOVE_TERMS = FILTER + "/IEEE802.11/source/remove_filter.cmd"
FILTER_DOC = FILTER + "/filter.json"
STATUS = "/system/status.json"
STATS = "/dataplane/stats.json"

APPLY = "airsift.packetfilter.apply"
APPLY_FIELDS = ("store_us", "table_us", "kernel_us", "kernel_writes")
BLOCKS_BY_PHY = "kismet.packetfilter.macaddr.blocks_by_phy"
SOURCE_BLOCK = "kismet.packetfilter.macaddr.source"


class BenchError(Exception):
    """A failed step; main prints it and exits 1."""


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The client (inside the namespace)
# ---------------------------------------------------------------------------------------------


class Api:
    """One keep-alive HTTP connection to airsift's REST API. Sends Basic until a reply sets the
    KISMET session cookie, then the cookie (a hash lookup on the server, where Basic goes to a
    blocking thread and, every 10 s, to argon2)."""

    # actix closes a keep-alive connection idle for 5 s; one idle this long is reopened before
    # the next request, outside its timing, so that no request races the server's close.
    IDLE_S = 2.0

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
        basic = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
        self.auth = {"Authorization": "Basic " + basic}
        self.by_cookie = False
        self.connects = 0
        self.last = 0.0

    def close(self):
        self.conn.close()

    def _ready_connection(self):
        if self.conn.sock is not None and time.perf_counter() - self.last > self.IDLE_S:
            self.conn.close()
        if self.conn.sock is None:
            self.conn.connect()
            self.connects += 1

    def _take_cookie(self, resp):
        if self.by_cookie:
            return
        for header in resp.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            if "KISMET" in jar and jar["KISMET"].value:
                self.auth = {"Cookie": "KISMET=" + jar["KISMET"].value}
                self.by_cookie = True
                return

    def call(self, method, path, data=None):
        """Sends one request (`data`: an encoded JSON body) and returns (HTTP status, decoded
        reply, seconds from sending the request to the last byte of the reply)."""
        self._ready_connection()
        headers = dict(self.auth)
        if data is not None:
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        t1 = time.perf_counter()
        self.last = t1
        self._take_cookie(resp)
        return resp.status, decode(raw), t1 - t0


def decode(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw[:300].decode("utf-8", "replace")


def encode(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def brief(doc):
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return text if len(text) <= 300 else text[:300] + "..."


def request(api, method, path, data=None):
    """A request that must answer 200 with a JSON object: (reply, seconds)."""
    status, doc, secs = api.call(method, path, data)
    if status != 200 or not isinstance(doc, dict):
        raise BenchError(f"{method} {path}: HTTP {status}: {brief(doc)}")
    return doc, secs


def wait_ready(api, secs):
    """Polls GET /system/status.json until it answers 200 (which also logs in)."""
    end = time.monotonic() + secs
    last = "no answer"
    while time.monotonic() < end:
        try:
            status, doc, _ = api.call("GET", STATUS)
            if status == 200:
                return
            last = f"HTTP {status}: {brief(doc)}"
        except (OSError, http.client.HTTPException) as e:
            last = f"{type(e).__name__}: {e}"
            api.close()
        time.sleep(0.1)
    raise BenchError(f"airsift did not answer GET {STATUS} with 200 within {secs} s ({last})")


def mac_text(v):
    """The MAC 02:xx:xx:xx:xx:xx whose last five octets are v (40 bits)."""
    return "02:" + ":".join("%02X" % (v >> s & 0xFF) for s in (32, 24, 16, 8, 0))


def distinct_macs(seed, count):
    """`count` distinct locally administered MACs, the same ones for the same seed."""
    rnd = random.Random(seed)
    seen, out = set(), []
    while len(out) < count:
        v = rnd.getrandbits(40)
        if v not in seen:
            seen.add(v)
            out.append(mac_text(v))
    return out


def load_terms(api, macs):
    """Sets `macs` as blocked terms, CHUNK a request; returns (seconds, requests)."""
    chunks = [macs[i:i + CHUNK] for i in range(0, len(macs), CHUNK)]
    bodies = [(len(c), encode({"filter": {m: "block" for m in c}})) for c in chunks]
    t0 = time.perf_counter()
    for n, (count, body) in enumerate(bodies, 1):
        doc, _ = request(api, "POST", SET_TERMS, body)
        if doc.get("terms") != count:
            raise BenchError(f"load request {n}: the reply sets {doc.get('terms')} terms, "
                             f"not {count}: {brief(doc)}")
        if len(bodies) > 1:
            progress(f"  loaded {min(n * CHUNK, len(macs)):,} of {len(macs):,} terms "
                     f"({time.perf_counter() - t0:.1f} s)")
    return time.perf_counter() - t0, len(bodies)


def apply_report(doc):
    """The reply's server-side account of the change: {field: int or None}, or None."""
    a = doc.get(APPLY)
    if not isinstance(a, dict):
        return None
    return {k: a[k] if isinstance(a.get(k), int) and not isinstance(a.get(k), bool) else None
            for k in APPLY_FIELDS}


def one_change(api, i, mac):
    """Change i: even adds `mac`, odd removes it again. Returns one sample."""
    if i % 2 == 0:
        op, path, body, key = "add", SET_TERMS, {"filter": {mac: "block"}}, "terms"
    else:
        op, path, body, key = "remove", REMOVE_TERMS, {"filter": [mac]}, "removed"
    doc, secs = request(api, "POST", path, encode(body))
    if doc.get(key) != 1:
        raise BenchError(f"change {i} ({op} {mac}): the reply says {key} = {doc.get(key)!r}, "
                         f"not 1: {brief(doc)}")
    return {"op": op, "rtt_s": secs, "apply": apply_report(doc)}


def run_changes(api, fresh, count):
    """`count` one-term changes with the MACs in `fresh`, each added and removed again."""
    samples = []
    t0 = shown = time.monotonic()
    for i in range(count):
        samples.append(one_change(api, i, fresh[i // 2]))
        if time.monotonic() - shown > 5:
            shown = time.monotonic()
            progress(f"  {i + 1:,} of {count:,} changes ({shown - t0:.0f} s)")
    return samples


def check_filter(api, loaded):
    """The filter's IEEE802.11 source block must hold exactly `loaded`, all blocked."""
    doc, _ = request(api, "GET", FILTER_DOC)
    try:
        terms = doc[BLOCKS_BY_PHY]["IEEE802.11"][SOURCE_BLOCK]
    except (KeyError, TypeError):
        raise BenchError(f"{FILTER_DOC} has no {BLOCKS_BY_PHY} -> IEEE802.11 -> {SOURCE_BLOCK}")
    held = {k.upper(): v for k, v in terms.items()}
    want = set(loaded)
    missing, extra = len(want - held.keys()), len(held.keys() - want)
    passing = sum(1 for v in held.values() if v != 1)
    if len(held) != len(loaded) or missing or extra or passing:
        raise BenchError(f"{FILTER_DOC} holds {len(held):,} source terms, expected "
                         f"{len(loaded):,}: {missing:,} loaded terms missing, {extra:,} others, "
                         f"{passing:,} not blocking")
    return len(held)


def kernel_entries(value, path=""):
    """[(path, value)] of every key whose name contains "kernel", not descending below one."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{path}.{k}" if path else k
            if "kernel" in k.lower():
                found.append((p, v))
            else:
                found.extend(kernel_entries(v, p))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(kernel_entries(v, f"{path}[{i}]"))
    return found


def inner(args):
    """The client, run inside the namespace: writes its samples to args.out."""
    macs = distinct_macs(SEED, args.size + args.changes // 2)
    loaded, fresh = macs[:args.size], macs[args.size:]
    api = Api(args.port)
    try:
        wait_ready(api, READY_S)
        load_s, requests = load_terms(api, loaded)
        progress(f"  {args.size:,} terms loaded in {load_s:.2f} s "
                 f"({args.size / max(load_s, 1e-9):,.0f} terms/s, {requests} request(s))")
        connects = api.connects
        samples = run_changes(api, fresh, args.changes)
        connects = api.connects - connects
        held = check_filter(api, loaded)
        stats, _ = request(api, "GET", STATS)
    finally:
        api.close()
    result = {
        "size": args.size, "load_s": load_s, "load_requests": requests, "changes": samples,
        "connects_during_changes": connects, "by_cookie": api.by_cookie, "held": held,
        "kernel": kernel_entries(stats),
    }
    with open(args.out, "w") as f:
        json.dump(result, f)


# ---------------------------------------------------------------------------------------------
# The namespace and airsift (outside)
# ---------------------------------------------------------------------------------------------


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(args)}: {r.stderr.strip() or 'exit status %d' % r.returncode}")
    return r.stdout


def configure_namespace(ns):
    """lo up, IPv6 off, the veth va/vb up with MTU 9000 (as scripts/bench-swap.sh)."""
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "netns", "exec", ns, "sh", "-c",
       "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; "
       "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6")
    sh("ip", "-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb")
    for dev in ("va", "vb"):
        sh("ip", "-n", ns, "link", "set", dev, "mtu", "9000", "up")


def delete_namespace(ns):
    """Kills what still runs in the namespace (only this script's processes: it created the
    namespace), then deletes it."""
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    for pid in r.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def kernel_capacity(size):
    """The kernel filter's map size for a filter of `size` exact terms: room for twice it, as
    an operator sets --kernel-filter-capacity (the maps are sized when airsift starts, and
    this filter is loaded after)."""
    return max(65536, 1 << (2 * size - 1).bit_length())


def start_airsift(ns, work, port, size):
    """`airsift run` inside the namespace; its stdout and stderr go to files in `work`."""
    os.makedirs(os.path.join(work, "state"))
    os.makedirs(os.path.join(work, "log"))
    cmd = ["ip", "netns", "exec", ns, AIRSIFT, "run", "--source", "tpacket:vb",
           "--link-type", "radiotap", "--kernel-filter", "on", "--workers", "1",
           "--kernel-filter-capacity", str(kernel_capacity(size)),
           "--state-dir", os.path.join(work, "state"), "--log-dir", os.path.join(work, "log"),
           "--listen", f"127.0.0.1:{port}"]
    env = dict(os.environ, AIRSIFT_ADMIN_PASSWORD=PASSWORD)
    with open(os.path.join(work, "airsift.out"), "w") as out, \
            open(os.path.join(work, "airsift.err"), "w") as err:
        return subprocess.Popen(cmd, stdout=out, stderr=err, env=env)


def stop_airsift(proc):
    """SIGINT, up to STOP_S seconds to end, then SIGKILL. Returns a note when it was killed."""
    if proc.poll() is not None:
        return None
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(STOP_S)
        return None
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return f"airsift did not end within {STOP_S} s of SIGINT: killed"


def stderr_tail(work, lines=40):
    try:
        with open(os.path.join(work, "airsift.err"), errors="replace") as f:
            text = f.read().splitlines()
    except OSError:
        return "(no stderr file)"
    return "\n".join(text[-lines:]) or "(stderr empty)"


def run_client(ns, airsift, work, port, size, changes):
    """Runs this script's client part inside the namespace while watching airsift; returns
    its result."""
    out = os.path.join(work, "result.json")
    cmd = ["ip", "netns", "exec", ns, sys.executable, THIS, "--inner", "--port", str(port),
           "--size", str(size), "--changes", str(changes), "--out", out]
    client = subprocess.Popen(cmd)
    try:
        while True:
            try:
                client.wait(0.5)
                break
            except subprocess.TimeoutExpired:
                if airsift.poll() is not None:
                    raise BenchError(f"airsift exited (status {airsift.returncode}) "
                                     f"during the {size:,}-term run")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    if client.returncode != 0:
        raise BenchError(f"the client failed in the {size:,}-term run "
                         f"(exit status {client.returncode})")
    with open(out) as f:
        return json.load(f)


def bench_size(ns, scratch, index, size, changes):
    """One size on a fresh airsift: its result, with a note if stopping it needed SIGKILL."""
    work = os.path.join(scratch, str(size))
    os.makedirs(work)
    port = BASE_PORT + index
    progress(f"{size:,} terms: starting airsift on 127.0.0.1:{port} in {ns}")
    airsift = start_airsift(ns, work, port, size)
    try:
        result = run_client(ns, airsift, work, port, size, changes)
    except Exception:
        stop_airsift(airsift)
        progress(f"airsift's stderr (last lines):\n{stderr_tail(work)}")
        raise
    finally:
        stop_note = stop_airsift(airsift)  # nothing to do when it already ended
    result["stop_note"] = stop_note
    shutil.rmtree(work, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {model}, "
            f"kernel {os.uname().release}")


def revision():
    try:
        r = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                           capture_output=True, text=True)
    except OSError:
        return "unknown revision"
    return r.stdout.strip() or "unknown revision"


def nearest_rank(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def server_values(samples, field):
    return [s["apply"][field] for s in samples
            if s["apply"] is not None and s["apply"][field] is not None]


def us_percentiles(samples, field):
    v = server_values(samples, field)
    if not v:
        return "n/a"
    return f"{nearest_rank(v, 50) / 1000:.3f} / {nearest_rank(v, 99) / 1000:.3f}"


HEADER = ("| N terms | load s | changes | round trip p50 / p99 / max ms | store p50/p99 ms | "
          "table p50/p99 ms | kernel p50/p99 ms | kernel writes (median) |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|")


def table_row(r):
    samples = r["changes"]
    rtt = [s["rtt_s"] * 1000 for s in samples]
    writes = server_values(samples, "kernel_writes")
    return (f"| {r['size']:,} | {r['load_s']:.2f} | {len(samples):,} | "
            f"{nearest_rank(rtt, 50):.3f} / {nearest_rank(rtt, 99):.3f} / {max(rtt):.3f} | "
            f"{us_percentiles(samples, 'store_us')} | {us_percentiles(samples, 'table_us')} | "
            f"{us_percentiles(samples, 'kernel_us')} | "
            f"{nearest_rank(writes, 50) if writes else 'n/a'} |")


def kernel_state(r):
    """The kernel filter's state from dataplane/stats.json, and a warning when not "on"."""
    for path, value in r["kernel"]:
        if path == "kernel_filter" and isinstance(value, dict):
            state = value.get("state")
            if state != "on":
                return f"WARNING: the kernel filter is {state!r}: {value.get('reason')}"
            return None
    return "WARNING: dataplane/stats.json has no kernel_filter object"


def notes(r):
    samples = r["changes"]
    size = r["size"]
    by_op = {op: [s["rtt_s"] * 1000 for s in samples if s["op"] == op] for op in ("add", "remove")}
    with_apply = sum(1 for s in samples if s["apply"] is not None)
    lines = [
        f"{size:,} terms: loaded in {r['load_s']:.2f} s ({size / max(r['load_s'], 1e-9):,.0f} terms/s, "
        f"{r['load_requests']} request(s) of at most {CHUNK:,} terms)",
        f"  changes: round trip p50 add {nearest_rank(by_op['add'], 50):.3f} ms, remove "
        f"{nearest_rank(by_op['remove'], 50):.3f} ms; {r['connects_during_changes']} new "
        f"connection(s) during them; auth by "
        + ("session cookie" if r["by_cookie"] else "Basic on every request (no cookie was set)"),
        f"  server-side timings ({APPLY}) in {with_apply:,} of {len(samples):,} replies",
        f"  read back: {FILTER_DOC} holds exactly the {r['held']:,} loaded source terms, "
        "all blocking",
    ]
    lines += [f"  {STATS}: {path} = {json.dumps(value)}" for path, value in r["kernel"]]
    warning = kernel_state(r)
    if warning:
        lines.append("  " + warning)
    if r.get("stop_note"):
        lines.append("  " + r["stop_note"])
    return lines


def report(results):
    if not results:
        return
    print()
    print(HEADER)
    for r in results:
        print(table_row(r))
    print()
    for r in results:
        print("\n".join(notes(r)))
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------


def parse_sizes(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be at least 1")
    return sizes


def parse_changes(text):
    n = int(text)
    if n < 2 or n % 2:
        raise argparse.ArgumentTypeError("changes must be even and at least 2 "
                                         "(each added term is removed again)")
    return n


def parse_args():
    p = argparse.ArgumentParser(
        description="Latency of one-term changes to a large capture filter (POST to applied "
                    "in user space and in the kernel filter). Needs root.")
    p.add_argument("--sizes", type=parse_sizes, default=[1_000, 100_000, 1_000_000],
                   help="filter sizes in terms, comma-separated (default 1000,100000,1000000)")
    p.add_argument("--changes", type=parse_changes, default=1000,
                   help="one-term changes per size, alternating add and remove (default 1000)")
    p.add_argument("--no-build", action="store_true",
                   help="use target/release/airsift as it is, without cargo build")
    # The client part, run by the script itself inside the namespace.
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args()


def exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def outer(args):
    if os.geteuid() != 0:
        sys.exit("bench-filter-change: needs root (network namespace, kernel filter)")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "control", "--bin", "airsift"],
                       cwd=ROOT, check=True)
    if not os.access(AIRSIFT, os.X_OK):
        sys.exit(f"bench-filter-change: no {AIRSIFT} (build it, or drop --no-build)")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, exit_on_signal)
    ns = f"airsift-fchg-{os.getpid()}"
    print("# airsift: one-term changes to a large capture filter")
    print(machine())
    print(f"airsift {revision()}: run --source tpacket:vb --link-type radiotap --kernel-filter on "
          f"--kernel-filter-capacity 2N --workers 1, REST on 127.0.0.1 in namespace {ns}; {args.changes:,} changes per size")
    sys.stdout.flush()
    scratch = tempfile.mkdtemp(prefix="airsift-fchg.")
    results = []
    created = False
    try:
        sh("ip", "netns", "add", ns)
        created = True
        configure_namespace(ns)
        for index, size in enumerate(args.sizes):
            results.append(bench_size(ns, scratch, index, size, args.changes))
    finally:
        report(results)
        if created:
            delete_namespace(ns)
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    args = parse_args()
    try:
        if args.inner:
            inner(args)
        else:
            outer(args)
    except BenchError as e:
        sys.exit(f"bench-filter-change: {e}")
    except (OSError, http.client.HTTPException) as e:
        if not args.inner:
            raise
        sys.exit(f"bench-filter-change: the connection to airsift failed: {e!r}")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
