// @ts-check
// airsift's status page. It polls the REST API (the same endpoints scripts use: stats once a
// second, filter and datasources every two, devices every five), keeps five minutes of
// rates for the charts, and changes filters and datasources through the API. No framework,
// no build step: the types below are JSDoc, checked by `tsc --checkJs --strict`
// (control/tests/ui_types.rs).
"use strict";

const POLL_MS = 1000;
/** Samples kept: five minutes at one a second. */
const HISTORY = 300;
const PAGE = 25;
/** Access points the map draws at most (the most recently seen). */
const MAP_MAX = 5000;
const COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#1b7c83", "#6e7781"];
const BLOCKS = ["source", "destination", "network", "other", "any"];

/**
 * @param {string} id
 * @returns {any}
 */
function $(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error("no element #" + id);
  return e;
}

/** @typedef {Map<string, number[]>} Series */

const view = {
  /** @type {number[]} */ times: [],
  /** @type {Series} */ sources: new Map(),
  /** @type {Series} */ workers: new Map(),
  /** @type {Series} */ verdicts: new Map(),
  /** @type {any} */ last: null,
  lastAt: 0,
  tick: 0,
  admin: false,
  devicePage: 0,
  deviceQuery: "",
  deviceTotal: 0,
  /** @type {number | undefined} */ timer: undefined,
};

class Unauthorized extends Error {}

/**
 * A REST call with the session cookie: the JSON reply, or an Error carrying the API's
 * `status` text (every airsift error reply has one).
 * @param {string} path @param {any} [body] POSTed as JSON when given
 */
async function api(path, body) {
  /** @type {Record<string, string>} */
  const headers = { "X-Requested-With": "airsift" };
  /** @type {RequestInit} */
  const init = { credentials: "same-origin", headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) throw new Unauthorized("not logged in");
  const text = await r.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!r.ok) throw new Error((doc && doc.status) || r.status + " " + r.statusText);
  return doc;
}

/**
 * Appends `v` to series `name`, a new series starting with zeros so all share the time axis.
 * @param {Series} m @param {string} name @param {number} v
 */
function push(m, name, v) {
  let s = m.get(name);
  if (!s) { s = new Array(view.times.length - 1).fill(0); m.set(name, s); }
  s.push(v);
  while (s.length > HISTORY) s.shift();
}

/**
 * Pads series that got no value this tick (a source that went away reads 0).
 * @param {Series} m
 */
function pad(m) {
  for (const s of m.values()) {
    while (s.length < view.times.length) s.push(0);
    while (s.length > HISTORY) s.shift();
  }
}

/**
 * Per-second rate of counter `key` between two snapshots.
 * @param {any} now
 * @param {any} before
 * @param {string} key
 * @param {number} secs
 */
function rate(now, before, key, secs) {
  if (!before || secs <= 0) return 0;
  return Math.max(0, ((now[key] || 0) - (before[key] || 0)) / secs);
}

/**
 * @param {number} n
 */
function fmt(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}

/**
 * A cleared 2D context for `canvas` at the screen's pixel density, sized to how the page lays
 * the canvas out, with that size in CSS pixels.
 * @param {HTMLCanvasElement} canvas
 * @returns {{g: CanvasRenderingContext2D, w: number, h: number} | null}
 */
function blank(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  if (!g) return null;
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

/**
 * Draws the series of `m` as lines over the last HISTORY seconds, with a legend.
 * @param {HTMLCanvasElement} canvas @param {Series} m @param {HTMLElement} legend
 */
function chart(canvas, m, legend) {
  const area = blank(canvas);
  if (!area) return;
  const { g, w, h } = area;
  let max = 1;
  for (const s of m.values()) for (const v of s) max = Math.max(max, v);
  g.fillStyle = "#5d6670"; g.font = "11px system-ui";
  g.fillText(fmt(max) + "/s", 4, 12);
  const x = (/** @type {number} */ i) => w - (HISTORY - 1 - i) * (w / (HISTORY - 1));
  let c = 0;
  legend.textContent = "";
  for (const [name, s] of m) {
    const color = COLORS[c++ % COLORS.length];
    g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
    const off = HISTORY - s.length;
    s.forEach((v, i) => {
      const y = h - 2 - (v / max) * (h - 16);
      if (i === 0) g.moveTo(x(i + off), y); else g.lineTo(x(i + off), y);
    });
    g.stroke();
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = color;
    item.append(swatch, name + " " + fmt(s[s.length - 1] || 0) + "/s");
    legend.append(item);
  }
  canvas.dataset.samples = String(view.times.length);
}

/**
 * What a cell shows and, for buttons, what they do: equal signatures need no new element.
 * @param {string | Node} cell
 */
function signature(cell) {
  if (typeof cell === "string") return "t:" + cell;
  const el = /** @type {Element} */ (cell);
  const buttons = el instanceof HTMLButtonElement ? [el] : Array.from(el.querySelectorAll("button"));
  return "n:" + buttons.map((b) => b.dataset.key).join(",") + ":" + (cell.textContent || "");
}

/**
 * Brings a table body to `rows`, replacing only the cells that changed: a button under the
 * pointer stays the same element while its row's numbers move, so no click is lost.
 * @param {string} id
 * @param {Array<Array<string | Node>>} rows
 */
function rows(id, rows) {
  /** @type {HTMLTableSectionElement} */
  const body = $(id).querySelector("tbody");
  while (body.rows.length > rows.length) body.deleteRow(-1);
  rows.forEach((r, i) => {
    const tr = body.rows[i] || body.insertRow();
    r.forEach((cell, j) => {
      const td = tr.cells[j] || tr.insertCell();
      const sig = signature(cell);
      if (td.dataset.sig === sig) return;
      td.dataset.sig = sig;
      td.textContent = "";
      td.append(cell);
    });
    while (tr.cells.length > r.length) tr.deleteCell(-1);
  });
}

/**
 * A button that runs `action`, shown only to the admin; `key` names what it acts on (the
 * request it makes), so an unchanged button is kept across refreshes.
 * @param {string} label
 * @param {string} key
 * @param {() => Promise<void>} action
 * @param {string} errorId
 */
function button(label, key, action, errorId) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.key = key;
  b.className = "admin";
  b.onclick = () => { action().then(() => { $(errorId).textContent = ""; refresh(true); }, (e) => { $(errorId).textContent = e.message; }); };
  return b;
}

/** One stats poll: tiles, charts, workers. */
async function stats() {
  const s = await api("/dataplane/stats.json");
  const now = performance.now() / 1000;
  const secs = view.last ? now - view.lastAt : 0;
  const before = view.last;
  const prevWorkers = before ? before.workers : [];
  const t = s.total, bt = before && before.total;
  // A rate needs two polls: the first only keeps its counters.
  if (before) {
    view.times.push(now);
    while (view.times.length > HISTORY) view.times.shift();
    /** @type {Map<string, any>} */
    const prevSources = new Map(before.sources.map((/** @type {any} */ x) => [x.name, x]));
    for (const src of s.sources) push(view.sources, src.name, rate(src, prevSources.get(src.name), "frames", secs));
    for (const wk of s.workers) push(view.workers, "#" + wk.worker + " " + wk.source_name, rate(wk, prevWorkers[wk.worker], "frames", secs));
    push(view.verdicts, "passed", rate(t, bt, "passed", secs));
    push(view.verdicts, "blocked", rate(t, bt, "blocked", secs));
    push(view.verdicts, "malformed", rate(t, bt, "malformed", secs));
    push(view.verdicts, "drops", rate(t, bt, "kernel_drops", secs) + rate(t, bt, "sink_drops", secs));
    pad(view.sources); pad(view.workers); pad(view.verdicts);
  }
  // The server's own rate over the last second: right from the first poll.
  $("rate-frames").textContent = fmt(t.frames_per_second || 0);
  $("total-passed").textContent = String(t.passed);
  $("total-blocked").textContent = String(t.blocked);
  $("total-malformed").textContent = String(t.malformed);
  $("total-drops").textContent = String(t.kernel_drops + t.sink_drops);
  $("generation").textContent = String(s.filter_generation);
  $("status").textContent = (s.capture_running ? "capturing" : "no capture running") + ", up " + Math.round(s.uptime_s) + " s";
  chart($("chart-sources"), view.sources, $("legend-sources"));
  chart($("chart-workers"), view.workers, $("legend-workers"));
  chart($("chart-verdicts"), view.verdicts, $("legend-verdicts"));
  rows("workers", s.workers.map((/** @type {any} */ wk) => [
    String(wk.worker), wk.source_name, wk.core === null ? "-" : String(wk.core),
    fmt(rate(wk, prevWorkers[wk.worker], "frames", secs)), String(wk.passed), String(wk.blocked),
    String(wk.malformed), String(wk.kernel_drops + wk.sink_drops), String(wk.filter_generation),
  ]));
  view.last = s;
  view.lastAt = now;
}

/** The capture filter: default, terms, generation. */
async function filters() {
  const f = await api("/packetfilters/capture/filter.json");
  $("filter-generation").textContent = String(f["airsift.packetfilter.generation"]);
  const sel = $("filter-default");
  if (document.activeElement !== sel) sel.value = String(f["kismet.packetfilter.default"] ? 1 : 0);
  /** @type {Array<Array<string | Node>>} */
  const list = [];
  const phys = f["kismet.packetfilter.macaddr.blocks_by_phy"] || {};
  for (const phy of Object.keys(phys)) {
    for (const block of BLOCKS) {
      const terms = phys[phy]["kismet.packetfilter.macaddr." + block] || {};
      for (const mac of Object.keys(terms)) {
        list.push([block, mac, terms[mac] ? "block" : "pass",
          button("Remove", phy + "/" + block + "/" + mac, () => api("/filters/packet/capture/" + encodeURIComponent(phy) + "/" + block + "/remove_filter.cmd", { filter: [mac] }), "filter-error")]);
      }
    }
  }
  rows("filter-terms", list);
}

/** The datasources and their commands. */
async function sources() {
  const list = await api("/datasource/all_sources.json");
  rows("source-list", list.map((/** @type {any} */ d) => {
    const uuid = d["kismet.datasource.uuid"];
    const cmd = (/** @type {string} */ c) => () => api("/datasource/by-uuid/" + uuid + "/" + c + ".cmd", {});
    const running = d["kismet.datasource.running"];
    const paused = d["kismet.datasource.paused"];
    const state = !running ? "closed" : paused ? "paused" : d["kismet.datasource.error"] ? "error" : "running";
    const actions = document.createElement("span");
    if (running) {
      actions.append(paused ? button("Resume", uuid + "/resume", cmd("resume_source"), "source-error") : button("Pause", uuid + "/pause", cmd("pause_source"), "source-error"));
      actions.append(button("Close", uuid + "/close", cmd("close_source"), "source-error"));
    } else {
      actions.append(button("Open", uuid + "/open", cmd("open_source"), "source-error"));
    }
    const type = (d["kismet.datasource.type_driver"] || {})["kismet.datasource.driver.type"] || "";
    // A scan-report source (a phone, an ESP32) captures nothing here: no commands.
    if (type === "virtual") { actions.textContent = ""; }
    return [d["kismet.datasource.name"] || "", d["kismet.datasource.interface"] || "",
      type, type === "virtual" ? "scan reports" : state, String(d["kismet.datasource.num_packets"] || 0), actions];
  }));
}

const DEVICE_FIELDS = [
  "kismet.device.base.macaddr", "kismet.device.base.name", "kismet.device.base.crypt",
  "kismet.device.base.channel", "kismet.device.base.signal/kismet.common.signal.last_signal",
  "kismet.device.base.last_time",
  "kismet.device.base.location/kismet.common.location.avg_loc/kismet.common.location.geopoint",
];

/**
 * Escapes a search for the API's regex pairs (a literal, case-insensitive match).
 * @param {string} q
 */
function literal(q) {
  return "(?i)" + q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One page of access points (search, paging) and, for the map, every located one. */
async function devices() {
  /** @type {any} */
  const q = { fields: DEVICE_FIELDS, datatable: true, start: view.devicePage * PAGE, length: PAGE, sort: ["kismet.device.base.last_time", "desc"] };
  if (view.deviceQuery) {
    const p = literal(view.deviceQuery);
    q.regex = [["kismet.device.base.name", p], ["kismet.device.base.macaddr", p]];
  }
  const page = await api("/devices/views/phydot11_accesspoints/devices.json", q);
  view.deviceTotal = page.recordsFiltered;
  const last = Math.min(view.deviceTotal, (view.devicePage + 1) * PAGE);
  $("device-count").textContent = view.deviceTotal ? (view.devicePage * PAGE + 1) + "-" + last + " of " + view.deviceTotal : "none";
  rows("device-list", page.data.map((/** @type {any} */ d) => [
    d["kismet.device.base.macaddr"], d["kismet.device.base.name"] || "", d["kismet.device.base.crypt"] || "",
    String(d["kismet.device.base.channel"] || ""),
    d["kismet.common.signal.last_signal"] ? d["kismet.common.signal.last_signal"] + " dBm" : "",
    new Date(d["kismet.device.base.last_time"] * 1000).toLocaleString(),
  ]));
  // The map: the most recently seen access points; those without a position are left out.
  const recent = await api("/devices/views/phydot11_accesspoints/devices.json", {
    fields: DEVICE_FIELDS, sort: ["kismet.device.base.last_time", "desc"], page: 0, length: MAP_MAX,
  });
  map(recent);
}

/**
 * A scatter of the located access points, longitude across, latitude up.
 * @param {any[]} list
 */
function map(list) {
  /** @type {HTMLCanvasElement} */
  const canvas = $("ap-map");
  const area = blank(canvas);
  if (!area) return;
  const { g, w, h } = area;
  const pts = list.map((d) => ({ p: d["kismet.common.location.geopoint"], name: d["kismet.device.base.name"] || d["kismet.device.base.macaddr"] }))
    .filter((x) => Array.isArray(x.p) && (x.p[0] || x.p[1]));
  canvas.dataset.points = String(pts.length);
  $("map-note").textContent = pts.length ? pts.length + " access points with a position (from scan reports)" : "no access point has a position yet (scan reports with lat/lon give one)";
  if (!pts.length) return;
  const lons = pts.map((x) => x.p[0]), lats = pts.map((x) => x.p[1]);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const sx = (/** @type {number} */ v) => 20 + (x1 > x0 ? (v - x0) / (x1 - x0) : 0.5) * (w - 40);
  const sy = (/** @type {number} */ v) => h - 20 - (y1 > y0 ? (v - y0) / (y1 - y0) : 0.5) * (h - 40);
  g.font = "11px system-ui";
  for (const x of pts) {
    g.fillStyle = COLORS[0];
    g.beginPath(); g.arc(sx(x.p[0]), sy(x.p[1]), 4, 0, 2 * Math.PI); g.fill();
    g.fillStyle = "#1b1f24"; g.fillText(x.name, sx(x.p[0]) + 6, sy(x.p[1]) - 4);
  }
}

/**
 * Polls; `all` refreshes the slower views now too.
 * @param {boolean} [all]
 */
async function refresh(all) {
  try {
    await stats();
    if (all || view.tick % 2 === 0) { await filters(); await sources(); }
    if (all || view.tick % 5 === 0) await devices();
    view.tick++;
  } catch (e) {
    if (e instanceof Unauthorized) { stopPolling(); showLogin(""); return; }
    $("status").textContent = "error: " + (e instanceof Error ? e.message : String(e));
  }
}

function stopPolling() {
  if (view.timer !== undefined) clearInterval(view.timer);
  view.timer = undefined;
}

/**
 * @param {string} message
 */
function showLogin(message) {
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

/** Logged in: the admin sees the editing controls, a readonly key does not. */
async function start() {
  await api("/session/check_session");
  view.admin = await api("/session/check_login").then(() => true, () => false);
  document.body.classList.toggle("readonly", !view.admin);
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  stopPolling();
  await refresh(true);
  view.timer = window.setInterval(() => { refresh(false); }, POLL_MS);
}

/**
 * Basic credentials for any UTF-8 user and password.
 * @param {string} user
 * @param {string} password
 */
function basic(user, password) {
  const bytes = new TextEncoder().encode(user + ":" + password);
  let s = "";
  bytes.forEach((b) => { s += String.fromCharCode(b); });
  return "Basic " + btoa(s);
}

$("login-form").onsubmit = async (/** @type {Event} */ e) => {
  e.preventDefault();
  const r = await fetch("/session/check_login", { credentials: "same-origin", headers: { "X-Requested-With": "airsift", Authorization: basic($("user").value, $("password").value) } });
  if (!r.ok) { $("login-error").textContent = r.status === 401 ? "wrong user or password" : "login failed: " + r.status; return; }
  $("password").value = "";
  start().catch((err) => showLogin(err.message));
};

$("logout").onclick = async () => {
  stopPolling();
  await fetch("/ui/logout", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: "{}" });
  showLogin("logged out");
};

$("filter-default").onchange = () => {
  api("/filters/packet/capture/set_default.cmd", { default: Number($("filter-default").value) })
    .then(() => { $("filter-error").textContent = ""; refresh(true); }, (e) => { $("filter-error").textContent = e.message; });
};

$("filter-add").onsubmit = (/** @type {Event} */ e) => {
  e.preventDefault();
  const block = $("term-block").value, mac = $("term-mac").value.trim();
  /** @type {Record<string, number>} */
  const filter = {};
  filter[mac] = Number($("term-action").value);
  api("/filters/packet/capture/IEEE802.11/" + block + "/set_filter.cmd", { filter })
    .then(() => { $("filter-error").textContent = ""; $("term-mac").value = ""; refresh(true); }, (err) => { $("filter-error").textContent = err.message; });
};

$("device-search").onsubmit = (/** @type {Event} */ e) => {
  e.preventDefault();
  view.deviceQuery = $("device-query").value.trim();
  view.devicePage = 0;
  devices().catch((err) => { $("status").textContent = err.message; });
};
$("device-prev").onclick = () => { if (view.devicePage > 0) { view.devicePage--; devices(); } };
$("device-next").onclick = () => { if ((view.devicePage + 1) * PAGE < view.deviceTotal) { view.devicePage++; devices(); } };

start().catch(() => showLogin(location.hash === "#badkey" ? "the key in the address is not valid" : ""));
