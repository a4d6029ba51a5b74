// The operations console (service/console.py): plain DOM and SVG, no library, no build.
// Every text that comes from the ledger is set with textContent (never as HTML).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const CHANGE = { "Content-Type": "application/json", "X-Urbangrid-Console": "1" };
const $ = (id) => document.getElementById(id);
let state = null, project = null, unit = 1, sortKey = "age_s", sortDown = true, stream = null;

async function api(path, options = {}) {
  const r = await fetch(path, { credentials: "same-origin", ...options });
  if (!r.ok) {
    let why = r.statusText;
    try { why = (await r.json())[0].description; } catch (e) { /* not JSON */ }
    throw new Error(`${r.status}: ${why}`);
  }
  return r.status === 204 ? null : r.json();
}

const change = (method, path, body) =>
  api(path, { method, headers: CHANGE, body: body === undefined ? undefined : JSON.stringify(body) });

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
                                      : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function say(text) { $("message").textContent = text; }

// ---------------------------------------------------------------- log-in
async function start() {
  try {
    state = await api("/console/state");
  } catch (e) {
    showLogin(e.message.startsWith("403") ? "" : e.message);
    return;
  }
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = $("dispatch-now").hidden = false;
  drawDistrict(await api("/console/district.json"));
  render();
  stream = new EventSource("/console/stream");
  stream.addEventListener("state", (ev) => { state = JSON.parse(ev.data); render(); });
}

function showLogin(error) {
  $("board").hidden = true;
  $("login").hidden = false;
  $("logout").hidden = $("dispatch-now").hidden = true;
  $("login-error").textContent = error || "";
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await api("/console/login", { method: "POST", headers: CHANGE,
                                  body: JSON.stringify({ api_key: $("api-key").value }) });
    $("api-key").value = "";
    await start();
  } catch (e) { showLogin(e.message); }
});

$("logout").addEventListener("click", async () => {
  if (stream) stream.close();
  await change("POST", "/console/logout");
  showLogin("logged out");
});

$("dispatch-now").addEventListener("click", async () => {
  try {
    const r = await change("POST", "/dispatch/run");
    say(`dispatch round: ${JSON.stringify(r)}`);
  } catch (e) { say(e.message); }
});

// ---------------------------------------------------------------- the map
function drawDistrict(geo) {
  const map = $("map");
  map.replaceChildren();
  const rings = geo.features.flatMap((f) =>
    f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates);
  const pts = rings.flat(2);
  const lons = pts.map((p) => p[0]), lats = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);  // equirectangular: a district is small
  const w = 1000, h = Math.round(w * (y1 - y0) / ((x1 - x0) * k));
  map.setAttribute("viewBox", `0 0 ${w} ${h}`);
  unit = Math.max(w, h) / 160;  // marker and label size: the same on screen for any shape
  map.style.setProperty("--label", `${(2.8 * unit).toFixed(1)}px`);
  project = (lon, lat) => [((lon - x0) * k) / ((x1 - x0) * k) * w, (y1 - lat) / (y1 - y0) * h];
  const outlines = el("svg:g", { id: "subdistricts" });
  for (const f of geo.features) {
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    const d = polys.map((poly) => poly.map((ring) =>
      "M" + ring.map((p) => project(p[0], p[1]).map((v) => v.toFixed(1)).join(",")).join("L") + "Z"
    ).join("")).join("");
    const label = (f.properties.name_en || f.properties.name).replace(/ (Subdistrict|Town)$/, "");
    outlines.append(el("svg:path", { d, class: "sub" }, el("svg:title", { text: label })));
    const ring = polys[0][0];
    const c = ring.reduce((a, p) => [a[0] + p[0] / ring.length, a[1] + p[1] / ring.length], [0, 0]);
    const [tx, ty] = project(c[0], c[1]);
    outlines.append(el("svg:text", { x: tx.toFixed(1), y: ty.toFixed(1), text: label }));
  }
  map.append(outlines, el("svg:g", { id: "request-marks" }), el("svg:g", { id: "team-marks" }));
}

function ageClass(r) { return r.age_of_limit >= 1 ? "late" : r.age_of_limit >= 0.5 ? "warn" : "ok"; }

function drawMarks() {
  if (!project) return;
  const reqs = $("request-marks"), tms = $("team-marks");
  // a request filed by address alone has no point until a dispatcher places it: no mark
  reqs.replaceChildren(...state.requests.filter((r) => r.lat !== null).map((r) => {
    const [x, y] = project(r.long, r.lat);
    return el("svg:circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: (2.2 * unit).toFixed(1), class: ageClass(r),
                              "data-id": r.service_request_id },
              el("svg:title", { text: `${r.service_request_id} ${r.service_name}` }));
  }));
  tms.replaceChildren(...state.teams.map((t) => {
    const [x, y] = project(t.lon, t.lat);
    const a = 3.4 * unit;
    return el("svg:rect", { x: (x - a / 2).toFixed(1), y: (y - a / 2).toFixed(1),
                            width: a.toFixed(1), height: a.toFixed(1),
                            class: t.state, "data-team": t.id },
              el("svg:title", { text: `${t.name} (${t.state})` }));
  }));
}

// ---------------------------------------------------------------- tables
function fmtAge(s) {
  const h = s / 3600;
  return h < 1 ? `${Math.round(s / 60)} min` : h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

function pct(x) { return x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`; }

function renderKpis() {
  const k = state.kpis;
  const cards = [["received", k.received], ["dispatched", k.dispatched], ["closed", k.closed],
                 ["same day", pct(k.same_day)], ["on time", pct(k.on_time)], ["backlog", k.backlog]];
  $("kpis").replaceChildren(...cards.map(([name, v]) =>
    el("div", { class: "kpi", "data-kpi": name }, el("b", { text: String(v) }), el("span", { text: name }))));
  $("clock").textContent = state.now;
}

function requestActions(r) {
  const team = el("select", { "aria-label": `team for ${r.service_request_id}` },
    el("option", { value: "", text: "team…" }),
    ...state.teams.filter((t) => t.state !== "off")
                  .map((t) => el("option", { value: t.id, text: t.name })));
  const assign = el("button", { class: "assign", text: "Assign", onclick: async () => {
    if (!team.value) return say("choose a team first");
    try {
      await change("POST", `/requests/${r.service_request_id}/assign`, { team_id: Number(team.value) });
      say(`request ${r.service_request_id} assigned by hand`);
    } catch (e) { say(e.message); }
  } });
  const note = el("input", { placeholder: "note", "aria-label": `note for ${r.service_request_id}` });
  const close = el("button", { class: "secondary close", text: "Close", onclick: async () => {
    try {
      await change("POST", `/requests/${r.service_request_id}/status`,
                   { status: "closed", status_notes: note.value || "closed from the console" });
      say(`request ${r.service_request_id} closed`);
    } catch (e) { say(e.message); }
  } });
  return el("td", {}, team, assign, note, close);
}

function renderQueue() {
  const rows = [...state.requests].sort((a, b) => {
    const x = a[sortKey], y = b[sortKey];
    const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
    return sortDown ? -c : c;
  });
  $("queue-count").textContent = `(${rows.length})`;
  $("queue").tBodies[0].replaceChildren(...rows.map((r) =>
    el("tr", { class: ageClass(r), "data-id": r.service_request_id },
       el("td", { text: r.service_request_id }), el("td", { text: fmtAge(r.age_s) }),
       el("td", { text: String(r.priority) }),
       el("td", { text: r.subdistrict_en || r.subdistrict, title: r.subdistrict }),
       el("td", { text: r.service_name }), el("td", { class: "description", text: r.description }),
       el("td", { text: r.team }), requestActions(r))));
}

function renderTeams() {
  $("teams").replaceChildren(...state.teams.map((t) => {
    const now = t.current ? `now ${t.current.service_request_id} (${t.current.state})` : "no task";
    const next = t.next.length ? `, next ${t.next.map((x) => x.service_request_id).join(", ")}` : "";
    const off = el("button", { class: "secondary off-duty", text: "Off duty", onclick: () => offDuty(t.id) });
    if (t.state === "off") off.disabled = true;
    return el("li", { "data-team": t.id }, el("b", { class: "team-name", text: t.name }), " ",
              el("span", { class: "state", text: `${t.state} · ${t.skills.join(", ")} · ${now}${next} ` }),
              off);
  }));
}

async function offDuty(id) {
  try {
    const team = (await api("/teams")).find((t) => t.id === id);
    const body = {};
    for (const k of ["name", "lat", "lon", "skills", "capacity", "shift_start", "shift_end", "mode"])
      body[k] = team[k];
    await change("PUT", `/teams/${id}`, { ...body, state: "off" });
    say(`${team.name} is off duty`);
  } catch (e) { say(e.message); }
}

for (const th of document.querySelectorAll("#queue th[data-sort]")) {
  th.addEventListener("click", () => {
    sortDown = sortKey === th.dataset.sort ? !sortDown : true;
    sortKey = th.dataset.sort;
    if (state) renderQueue();
  });
}

function render() { renderKpis(); drawMarks(); renderQueue(); renderTeams(); }

start();
