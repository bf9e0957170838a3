// Porter's dashboard: renders each snapshot the node pushes on /dashboard/events (server-sent events).
// Every value from the node goes into the page as text (textContent), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.num ? "num" : null }, h.label ?? h)))),
    el("tbody", {}, rows));
}

const num = (v, digits = 0) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const bytes = (v) => {
  if (v === null || v === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};
const ms = (seconds) => (seconds === null || seconds === undefined ? "–" : seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`);
const duration = (seconds) => {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
};
const pct = (ratio) => (ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)}%`);
const time = (iso) => new Date(iso).toLocaleTimeString("en-GB");
const nodes = (report) => (report && Array.isArray(report.nodes) ? report.nodes : []);
// "porter@127.0.0.2:4053": the member's address as the management routes take it.
const memberPath = (node) => encodeURIComponent(node.replace(/^akka(\.tcp)?:\/\//, ""));

// --- actions -------------------------------------------------------------------------------------------
// The token lives in this page only (the input), never in storage.
async function act(label, method, path, body) {
  const result = $("action-result");
  const token = $("token").value.trim();
  result.className = "";
  result.textContent = `${label}…`;
  try {
    const response = await fetch(path, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { "Content-Type": "application/x-www-form-urlencoded" } : {}) },
      body,
    });
    const text = await response.text();
    let message = text;
    try { const json = JSON.parse(text); message = json.message || json.error || text; } catch { /* plain text */ }
    result.className = response.ok ? "ok" : "error";
    result.textContent = `${label}: ${response.status} ${message}`;
  } catch (e) {
    result.className = "error";
    result.textContent = `${label}: ${e}`;
  }
}

const restartButton = (app) => el("button", { "data-action": "restart", "data-app": app, onclick: () => act(`restart ${app}`, "POST", `/pool/apps/${encodeURIComponent(app)}/restart`) }, "Restart");
const memberButtons = (node) => [
  el("button", { "data-action": "leave", onclick: () => confirm(`${node} leaves the cluster?`) && act(`leave ${node}`, "PUT", `/cluster/members/${memberPath(node)}`, "operation=leave") }, "Leave"),
  " ",
  el("button", { "data-action": "down", onclick: () => confirm(`Mark ${node} down?`) && act(`down ${node}`, "PUT", `/cluster/members/${memberPath(node)}`, "operation=down") }, "Down"),
];

// --- sections ------------------------------------------------------------------------------------------
function renderSummary(s) {
  const apps = nodes(s.pool).flatMap((n) => n.apps || []);
  const processes = apps.reduce((sum, a) => sum + (a.processes || []).length, 0);
  const queued = apps.reduce((sum, a) => sum + (a.queueLength || 0), 0);
  const traffic = nodes(s.traffic).flatMap((n) => n.apps || []);
  const rps = traffic.reduce((sum, a) => sum + (a.requestsPerSecond || 0), 0);
  const last = (s.history || []).at(-1) || {};
  const card = (label, value, key) => el("div", { class: "card" }, el("div", { class: "value", "data-summary": key }, value), el("div", { class: "label" }, label));
  $("summary").replaceChildren(
    card("members", (s.members || []).length, "members"),
    card("app processes", processes, "processes"),
    card("queued requests", queued, "queued"),
    card("requests/s (last minute)", num(rps, 2), "rps"),
    card("latency p95 (last minute)", ms(last.p95Seconds), "p95"),
    card("turbocache hit ratio", pct(last.hitRatio), "hit-ratio"));
}

function renderMembers(s) {
  const byRole = new Map();
  for (const m of s.members || []) {
    const role = m.roles.includes("worker") && m.roles.includes("gateway") ? "standalone" : m.roles.includes("gateway") ? "gateway" : m.roles.includes("worker") ? "worker" : m.roles.join("+") || "none";
    if (!byRole.has(role)) byRole.set(role, []);
    byRole.get(role).push(m);
  }
  const parts = [];
  for (const [role, members] of [...byRole.entries()].sort()) {
    parts.push(el("h3", {}, `${role} (${members.length})`));
    parts.push(table(["node", "status", "reachable", "roles", "", ""], members.map((m) =>
      el("tr", { "data-member": m.node, "data-status": m.status, "data-reachable": String(m.reachable) },
        el("td", {}, m.node, m.self ? " (this node)" : ""),
        el("td", { class: m.status === "Up" ? "ok" : "warn" }, m.status),
        el("td", { class: m.reachable ? "ok" : "bad" }, m.reachable ? "yes" : "unreachable"),
        el("td", {}, m.roles.join(", ")),
        el("td", {}, m.leader ? "leader" : ""),
        el("td", {}, memberButtons(m.node))))));
  }
  $("members").replaceChildren(...parts);
}

function renderApps(s) {
  const traffic = new Map();
  for (const n of nodes(s.traffic)) for (const a of n.apps || []) {
    const t = traffic.get(a.name) || { rps: 0, requests: 0, p50: null, p95: null, p99: null };
    t.rps += a.requestsPerSecond || 0;
    t.requests += a.requests || 0;
    // Several gateways: the worst one's percentile (percentiles do not add up).
    for (const [k, v] of [["p50", a.p50Seconds], ["p95", a.p95Seconds], ["p99", a.p99Seconds]]) if (v !== null && (t[k] === null || v > t[k])) t[k] = v;
    traffic.set(a.name, t);
  }
  const apps = new Map();
  const errors = [];
  for (const n of nodes(s.pool)) {
    if (n.error) { errors.push(el("p", { class: "error" }, `${n.node}: ${n.error}`)); continue; }
    for (const a of n.apps || []) {
      if (!apps.has(a.name)) apps.set(a.name, []);
      apps.get(a.name).push({ node: n.node, app: a });
    }
  }
  const parts = [...errors];
  for (const [name, placements] of [...apps.entries()].sort()) {
    const t = traffic.get(name) || { rps: 0, requests: 0, p50: null, p95: null, p99: null };
    const processed = placements.reduce((sum, p) => sum + (p.app.processes || []).reduce((x, q) => x + (q.processed || 0), 0), 0);
    const queued = placements.reduce((sum, p) => sum + (p.app.queueLength || 0), 0);
    parts.push(el("div", { class: "app", "data-app": name },
      el("h3", {}, name, " ", restartButton(name)),
      el("p", {},
        "processed ", el("strong", { "data-app-processed": name }, processed),
        " · queue ", el("strong", { "data-app-queue": name }, queued),
        " · ", el("strong", {}, num(t.rps, 2)), " req/s over the last minute",
        " · p50 ", ms(t.p50), " · p95 ", ms(t.p95), " · p99 ", ms(t.p99),
        placements.some((p) => p.app.restarting) ? el("span", { class: "warn" }, " · restarting") : null,
        ...placements.filter((p) => p.app.failure).map((p) => el("span", { class: "bad" }, ` · ${p.node}: ${p.app.failure}`))),
      table(["node", { label: "PID", num: true }, "state", { label: "sessions", num: true }, { label: "processed", num: true }, { label: "CPU", num: true }, { label: "RSS", num: true }, { label: "uptime", num: true }, "OOB"],
        placements.flatMap((p) => (p.app.processes || []).map((q) =>
          el("tr", { "data-pid": q.pid, "data-node": p.node },
            el("td", {}, p.node),
            el("td", { class: "num" }, q.pid),
            el("td", { class: q.state === "enabled" ? "ok" : "warn" }, q.state),
            el("td", { class: "num" }, q.sessions),
            el("td", { class: "num", "data-processed": q.pid }, q.processed),
            el("td", { class: "num" }, `${num(q.cpuPercent, 1)}%`),
            el("td", { class: "num" }, bytes(q.rssBytes)),
            el("td", { class: "num" }, duration(q.uptimeSeconds)),
            el("td", { "data-oob": q.pid }, q.oob ? String(q.oob) : "")))))));
  }
  if (parts.length === 0) parts.push(el("p", { class: "hint" }, "no worker node serves an app yet"));
  $("apps").replaceChildren(...parts);
}

function renderCache(s) {
  const parts = [];
  for (const n of nodes(s.cache)) {
    if (n.error) { parts.push(el("p", { class: "error" }, `${n.node}: ${n.error}`)); continue; }
    const apps = Object.entries(n.apps || {}).sort();
    parts.push(el("h3", {}, n.node, " · entities ", bytes(n.entities?.bytes), " of ", bytes(n.entities?.maxBytes), " · near cache ", bytes(n.nearCache?.bytes)));
    parts.push(table(["app", { label: "lookups", num: true }, { label: "hits", num: true }, { label: "hit ratio", num: true }, { label: "stores", num: true }, { label: "bytes held", num: true }, "refusals by reason"],
      apps.map(([name, a]) => el("tr", { "data-cache-app": name, "data-cache-node": n.node },
        el("td", {}, name),
        el("td", { class: "num" }, a.lookups),
        el("td", { class: "num" }, a.hits),
        el("td", { class: "num" }, pct(a.hitRatio)),
        el("td", { class: "num" }, a.stores),
        el("td", { class: "num" }, bytes(a.bytesHeld)),
        el("td", {}, Object.entries(a.refusals || {}).map(([r, c]) => `${r} ${c}`).join(", ") || "–")))));
  }
  if (parts.length === 0) parts.push(el("p", { class: "hint" }, "no cache node"));
  $("cache").replaceChildren(...parts);
}

function renderOob(s) {
  const oob = s.oob;
  if (!oob) { $("oob").replaceChildren(el("p", { class: "hint" }, "no OOB coordinator on this node's cluster")); return; }
  if (oob.error) { $("oob").replaceChildren(el("p", { class: "error" }, oob.error)); return; }
  const rows = (oob.scopes || []).flatMap((scope) => [
    ...(scope.holders || []).map((h) => el("tr", {}, el("td", {}, scope.scope), el("td", {}, "holds"), el("td", {}, h.app), el("td", { class: "num" }, h.pid), el("td", {}, h.node), el("td", { class: "num" }, ms(h.heldMs / 1000)))),
    ...(scope.queue || []).map((w) => el("tr", {}, el("td", {}, scope.scope), el("td", {}, "waits"), el("td", {}, w.app), el("td", { class: "num" }, w.pid), el("td", {}, w.node), el("td", { class: "num" }, ms(w.waitingMs / 1000)))),
  ]);
  $("oob").replaceChildren(
    el("p", {}, `at most ${oob.maxConcurrent} at once per scope · runs ${oob.cluster?.runs ?? 0} · reclaims ${oob.cluster?.reclaims ?? 0} · mean run ${num(oob.cluster?.meanDurationMs)} ms · mean wait ${num(oob.cluster?.meanWaitMs)} ms`),
    rows.length ? table(["scope", "", "app", { label: "PID", num: true }, "node", { label: "for", num: true }], rows) : el("p", { class: "hint" }, "no process holds or waits for a token"));
}

function renderEvents(s) {
  const events = s.events || [];
  $("events").replaceChildren(...(events.length ? events.map((e) => el("li", { "data-event": e.kind }, el("time", {}, time(e.at)), e.text)) : [el("li", { class: "hint" }, "none since this node started")]));
}

function chart(id, points, format) {
  const svg = $(id);
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const max = Math.max(...values, 1e-9);
  const n = Math.max(points.length - 1, 1);
  const coordinates = points
    .map((p, i) => (p.value === null || p.value === undefined ? null : `${((i / n) * 300).toFixed(1)},${(78 - (p.value / max) * 74).toFixed(1)}`))
    .filter((c) => c !== null).join(" ");
  svg.replaceChildren(document.createElementNS("http://www.w3.org/2000/svg", "polyline"));
  svg.firstChild.setAttribute("points", coordinates);
  svg.setAttribute("data-points", values.length);
  $(`${id}-value`).textContent = values.length ? `${format(values.at(-1))} (max ${format(max)})` : "no data yet";
}

function renderCharts(s) {
  const history = s.history || [];
  chart("chart-rate", history.map((h) => ({ value: h.requestsPerSecond })), (v) => num(v, 1));
  chart("chart-latency", history.map((h) => ({ value: h.p95Seconds })), ms);
  chart("chart-hits", history.map((h) => ({ value: h.hitRatio })), pct);
}

function render(snapshot) {
  const sections = [renderSummary, renderMembers, renderApps, renderCache, renderOob, renderEvents, renderCharts];
  for (const section of sections) {
    try { section(snapshot); } catch (e) { console.error(section.name, e); }
  }
  $("updated").textContent = `as of ${time(snapshot.at)} from ${snapshot.self}`;
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
}

// --- the stream ----------------------------------------------------------------------------------------
function connect() {
  const connection = $("connection");
  const source = new EventSource("/dashboard/events");
  source.addEventListener("open", () => { connection.className = "badge on"; connection.textContent = "live"; connection.dataset.connection = "live"; });
  source.addEventListener("error", () => { connection.className = "badge off"; connection.textContent = "reconnecting…"; connection.dataset.connection = "reconnecting"; });
  source.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
}

connect();
