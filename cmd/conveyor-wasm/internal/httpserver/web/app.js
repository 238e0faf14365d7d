// The live DAG page of `conveyor-wasm run --http`: draws /api/graph once,
// then polls /api/stats every second and shows rates (from the difference
// of two polls), queue depths, dead letters and watermark lags.
// No library and no build step: the layout is a longest-path layering of
// the DAG with a few barycenter sweeps to order each layer.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const W = 200, H = 78, GX = 90, GY = 26, PAD = 20;
const POLL_MS = 1000;

const state = { graph: null, nodes: new Map(), edges: [], prev: null };

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function fmt(n) {
  if (!isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Math.round(n).toString();
}

function fmtSeconds(s) {
  if (s < 1) return Math.round(s * 1000) + "ms";
  if (s < 120) return s.toFixed(1) + "s";
  if (s < 7200) return (s / 60).toFixed(1) + "m";
  return (s / 3600).toFixed(1) + "h";
}

// layout assigns every node a layer (longest path from a node without
// inputs, over every edge but dead-letter ones) and a row.
function layout(g) {
  const ids = g.nodes.map((n) => n.id);
  const preds = new Map(ids.map((id) => [id, []]));
  const succs = new Map(ids.map((id) => [id, []]));
  for (const e of g.edges) {
    if (e.kind === "dead_letter" || !preds.has(e.to) || !succs.has(e.from)) continue;
    preds.get(e.to).push(e.from);
    succs.get(e.from).push(e.to);
  }
  const layer = new Map();
  const visiting = new Set();
  function depth(id) {
    if (layer.has(id)) return layer.get(id);
    if (visiting.has(id)) return 0; // a cycle: the engine rejects them, be safe anyway
    visiting.add(id);
    let d = 0;
    for (const p of preds.get(id)) d = Math.max(d, depth(p) + 1);
    visiting.delete(id);
    layer.set(id, d);
    return d;
  }
  let last = 0;
  for (const n of g.nodes) if (n.kind !== "dead_letter") last = Math.max(last, depth(n.id));
  const layers = [];
  for (const n of g.nodes) {
    const l = n.kind === "dead_letter" ? last : layer.get(n.id);
    layer.set(n.id, l);
    (layers[l] = layers[l] || []).push(n.id);
  }
  // The dead-letter node goes to the bottom of the last layer.
  const dl = g.nodes.find((n) => n.kind === "dead_letter");
  const row = new Map();
  layers.forEach((ids) => ids.forEach((id, i) => row.set(id, i)));
  // Barycenter sweeps: order each layer by the mean row of its neighbours
  // in the layer before (down) or after (up).
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.map((_, i) => i) : layers.map((_, i) => layers.length - 1 - i);
    for (const l of order) {
      const ids = layers[l];
      if (!ids) continue;
      const key = new Map();
      for (const id of ids) {
        const nb = down ? preds.get(id) : succs.get(id);
        key.set(id, nb.length ? nb.reduce((s, p) => s + row.get(p), 0) / nb.length : row.get(id));
      }
      ids.sort((a, b) => (dl && a === dl.id) - (dl && b === dl.id) || key.get(a) - key.get(b));
      ids.forEach((id, i) => row.set(id, i));
    }
  }
  const tallest = Math.max(...layers.map((ids) => (ids ? ids.length : 0)));
  const pos = new Map();
  layers.forEach((ids, l) => {
    if (!ids) return;
    const off = ((tallest - ids.length) * (H + GY)) / 2;
    ids.forEach((id, i) => pos.set(id, { x: PAD + l * (W + GX), y: PAD + off + i * (H + GY) }));
  });
  return { pos, width: PAD * 2 + layers.length * (W + GX) - GX, height: PAD * 2 + tallest * (H + GY) - GY };
}

function kindLabel(n) {
  switch (n.kind) {
    case "source": return n.type + " source";
    case "service": return n.type + " " + n.role;
    case "dead_letter": return "dead letters · " + (n.name === n.type ? n.name : n.type + ": " + n.name);
  }
  let s = n.type;
  if (n.service) s += ": " + n.service;
  if (n.replicas > 1) s += " ×" + n.replicas;
  return s;
}

function draw(g) {
  const svg = document.getElementById("dag");
  svg.textContent = "";
  const { pos, width, height } = layout(g);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#98a2b3" }, marker);
  const edgeLayer = el("g", {}, svg);
  const nodeLayer = el("g", {}, svg);
  state.edges = [];
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    let x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    if (b.x <= a.x) { x1 = a.x + W / 2; y1 = a.y + H; x2 = b.x + W / 2; y2 = b.y; } // same layer: top to bottom
    const dx = Math.max(40, (x2 - x1) / 2);
    const d = b.x <= a.x ? `M${x1},${y1} C${x1},${y1 + 30} ${x2},${y2 - 30} ${x2},${y2}` : `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
    const grp = el("g", { class: "edge " + e.kind, "data-edge": `${e.from}->${e.to}`, "data-kind": e.kind }, edgeLayer);
    el("path", { d, "marker-end": "url(#arrow)" }, grp);
    const title = el("title", {}, grp);
    title.textContent = e.kind === "route" ? `${e.from} → ${e.to}` + (e.condition ? `\nwhen ${e.condition}` : "") : `${e.from} → ${e.to} (${e.kind.replace("_", " ")})`;
    const label = el("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, "text-anchor": "middle", class: "rate" }, grp);
    state.edges.push({ e, grp, label });
  }
  state.nodes = new Map();
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const grp = el("g", { class: "node " + n.kind, "data-node-id": n.id, "data-rate": "0", "data-total": "0", transform: `translate(${p.x},${p.y})` }, nodeLayer);
    el("rect", { width: W, height: H, rx: n.kind === "source" ? 18 : 6 }, grp);
    const name = el("text", { x: 10, y: 18, class: "name" }, grp);
    name.textContent = n.kind === "dead_letter" ? "dead letters" : n.name;
    const kind = el("text", { x: 10, y: 33, class: "kind" }, grp);
    kind.textContent = kindLabel(n);
    const line1 = el("text", { x: 10, y: 51, class: "stats rate" }, grp);
    const line2 = el("text", { x: 10, y: 67, class: "stats" }, grp);
    line1.textContent = "–";
    state.nodes.set(n.id, { n, grp, line1, line2 });
  }
}

function setTotals(run, st) {
  const t = document.getElementById("totals");
  const items = [
    ["in", fmt(run.in)], ["delivered", fmt(run.delivered)], ["filtered", fmt(run.filtered)], ["dropped", fmt(run.dropped)],
    ["dead-lettered", fmt(run.dead_lettered)], ["in flight", fmt(run.in_flight)], ["late", fmt(run.late)],
    ["elapsed", fmtSeconds(run.elapsed_seconds || 0)],
  ];
  if (run.watermark) items.push(["watermark", run.watermark.replace("T", " ").replace(/\.\d+Z$/, "Z")]);
  t.textContent = "";
  for (const [k, v] of items) {
    const d = document.createElement("div");
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = v; dd.dataset.total = k;
    d.append(dt, dd); t.appendChild(d);
  }
  const s = document.getElementById("state");
  s.textContent = st.state; s.className = "state " + st.state;
}

function update(st) {
  const run = st.run;
  setTotals(run, st);
  const prev = state.prev;
  const dt = prev ? (Date.parse(st.time) - Date.parse(prev.time)) / 1000 : 0;
  const rate = (cur, old) => (prev && dt > 0 ? Math.max(0, (cur - (old || 0)) / dt) : 0);
  const stages = new Map(run.stages.map((s) => [s.id, s]));
  const pstages = new Map(prev ? prev.run.stages.map((s) => [s.id, s]) : []);
  const sinks = new Map(run.sinks.map((s) => [s.name, s]));
  const psinks = new Map(prev ? prev.run.sinks.map((s) => [s.name, s]) : []);
  const sources = new Map((run.sources || []).map((s) => [s.source, s]));
  const dls = st.dead_letters_by_stage || {};
  const pdls = prev ? prev.dead_letters_by_stage || {} : {};
  for (const { n, grp, line1, line2 } of state.nodes.values()) {
    let main = 0, total = 0, t1 = "", t2 = [], bad = false;
    if (n.kind === "source" || n.kind === "stage") {
      const s = stages.get(n.id) || { in: 0, out: 0 }, p = pstages.get(n.id) || {};
      if (n.kind === "source") {
        main = rate(s.out, p.out); total = s.out;
        t1 = `read ${fmt(main)}/s · ${fmt(total)}`;
        const src = sources.get(n.id);
        if (src && src.watermark) t2.push(src.ahead_seconds > 0 ? `ahead ${fmtSeconds(src.ahead_seconds)}` : `lag ${fmtSeconds(src.lag_seconds)}`);
        if (src && src.state !== "active") t2.push(src.state);
      } else {
        main = rate(s.in, p.in); total = s.in;
        t1 = `in ${fmt(main)}/s · out ${fmt(rate(s.out, p.out))}/s`;
        t2.push(`queue ${s.queue_depth || 0}`, `busy ${s.busy || 0}/${s.parallelism || 0}`);
      }
      const d = dls[n.id] || 0;
      if (d > 0) { t2.push(`dead letters ${fmt(d)}`); bad = rate(d, pdls[n.id]) > 0; }
    } else if (n.kind === "service" && n.role === "sink") {
      const s = sinks.get(n.name) || { written: 0, errors: 0 }, p = psinks.get(n.name) || {};
      main = rate(s.written, p.written); total = s.written;
      t1 = `written ${fmt(main)}/s · ${fmt(total)}`;
      if (s.errors) { t2.push(`errors ${fmt(s.errors)}`); bad = true; }
    } else if (n.kind === "dead_letter") {
      const s = run.dead_letters || { written: 0 }, p = prev ? prev.run.dead_letters || {} : {};
      main = rate(s.written, p.written); total = s.written;
      t1 = `written ${fmt(main)}/s · ${fmt(total)}`;
      if (s.lost) { t2.push(`lost ${fmt(s.lost)}`); bad = true; }
      if (s.errors) { t2.push(`errors ${fmt(s.errors)}`); bad = true; }
    } else {
      t1 = n.role;
    }
    line1.textContent = t1;
    line2.textContent = t2.join(" · ");
    line2.setAttribute("class", "stats" + (bad ? " bad" : ""));
    grp.dataset.rate = String(Math.round(main));
    grp.dataset.total = String(total);
    grp.classList.toggle("hot", main > 0);
  }
  const edgeCount = new Map();
  for (const e of run.edges) {
    const k = `${e.late ? "late" : "route"}:${e.from}->${e.to}`;
    edgeCount.set(k, (edgeCount.get(k) || 0) + e.records);
  }
  const pedge = new Map();
  if (prev) for (const e of prev.run.edges) {
    const k = `${e.late ? "late" : "route"}:${e.from}->${e.to}`;
    pedge.set(k, (pedge.get(k) || 0) + e.records);
  }
  for (const { e, grp, label } of state.edges) {
    let cur = 0, old = 0;
    if (e.kind === "route" || e.kind === "late") {
      const k = `${e.kind}:${e.from}->${e.to}`;
      cur = edgeCount.get(k) || 0; old = pedge.get(k) || 0;
    } else if (e.kind === "dead_letter") {
      cur = dls[e.from] || 0; old = pdls[e.from] || 0;
    } else {
      continue;
    }
    const r = rate(cur, old);
    label.textContent = e.kind === "dead_letter" && cur === 0 ? "" : `${fmt(r)}/s`;
    grp.dataset.rate = String(Math.round(r));
    grp.classList.toggle("active", r > 0);
  }
  state.prev = st;
}

async function poll() {
  const err = document.getElementById("error");
  try {
    const res = await fetch("api/stats", { cache: "no-store" });
    if (!res.ok) throw new Error(`/api/stats: ${res.status}`);
    update(await res.json());
    err.hidden = true;
  } catch (e) {
    err.textContent = `${e.message} (the run may have ended)`;
    err.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

async function main() {
  try {
    const res = await fetch("api/graph", { cache: "no-store" });
    state.graph = await res.json();
  } catch (e) {
    document.getElementById("error").textContent = "cannot load the graph: " + e.message;
    document.getElementById("error").hidden = false;
    return;
  }
  document.getElementById("pipeline").textContent = state.graph.id;
  document.title = state.graph.id + " · conveyor-wasm";
  draw(state.graph);
  document.body.dataset.ready = "true";
  poll();
}

main();
