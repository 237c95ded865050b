// Graph explorer: neurons, synapses and memories around a memory, a neuron or a query.
import { api, dashPath, query } from "./api.js";
import { COLORS, GraphView } from "./graphview.js";
import { openMemory } from "./detail.js";
import { fmt, h, mount, ready } from "./ui.js";

const TYPES = ["entity", "concept", "time", "action", "state", "spatial", "sensory", "intent"];

export async function graphPage(page, kind, id) {
  const mode = h("select", { name: "mode" }, ["query", "fiber", "neuron"].map((m) => h("option", { value: m }, m === "fiber" ? "memory id" : m === "neuron" ? "neuron id" : "query")));
  const text = h("input.grow", { name: "around", placeholder: "a question, a memory id or a neuron id", required: true });
  const hops = h("input", { name: "hops", type: "number", min: 0, max: 4, value: 2 });
  const limit = h("input", { name: "limit", type: "number", min: 10, max: 20000, value: 3000 });
  const boxes = TYPES.map((t) => h("input", { type: "checkbox", name: "type", value: t, checked: true }));
  const form = h("form.row", {}, mode, text, h("label", {}, "hops ", hops), h("label", {}, "elements ", limit), h("button", { type: "submit" }, "Show"));
  const legend = h("div.legend", {}, TYPES.map((t, i) => h("label", {}, boxes[i], swatch(COLORS[t]), t)), h("span", {}, swatch(COLORS.fiber), "memory"));
  const info = h("p.muted", { dataset: { role: "graph-info" } });
  const canvas = h("canvas.graph", { dataset: { role: "graph" } });
  mount(page, "graph", h("h1", {}, "Graph explorer"), form, legend, info, canvas);
  const view = new GraphView(canvas, { onPick: (n) => pick(n, info) });
  const load = async () => {
    page.dataset.ready = "false";
    const types = boxes.filter((b) => b.checked).map((b) => b.value);
    const g = await api(dashPath("/graph" + query({ [mode.value]: text.value, hops: hops.value, limit: limit.value, types: types.length === TYPES.length ? null : types })));
    const { nodes, links } = toDrawing(g);
    view.setGraph(nodes, links);
    info.textContent = `${fmt.num(g.nodes.length)} neurons · ${fmt.num(g.edges.length)} synapses · ${fmt.num(g.fibers.length)} memories${g.truncated ? " (limit reached)" : ""} — drag to pan, wheel to zoom, click a memory to open it`;
    canvas.dataset.elements = String(g.nodes.length + g.edges.length + g.fibers.length);
    ready(page);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  for (const b of boxes) b.addEventListener("change", () => text.value && load());
  if (kind && id) { mode.value = kind; text.value = id; await load(); }
  else {
    const recent = await api(dashPath("/timeline" + query({ limit: 1 })));
    if (recent.items.length) { mode.value = "fiber"; text.value = recent.items[0].fiber_id; await load(); }
    else { info.textContent = "No memories yet."; ready(page); }
  }
  return () => view.destroy();
}

function swatch(color) {
  const el = h("span.swatch");
  el.style.background = color;
  return el;
}

function toDrawing(g) {
  const seeds = new Set(g.seeds);
  const nodes = g.nodes.map((n) => ({ id: n.id, label: n.label, kind: n.type, color: COLORS[n.type] ?? COLORS.other, size: seeds.has(n.id) ? 6 : 3.5, ring: seeds.has(n.id) ? "#ffffff" : undefined }));
  const links = g.edges.map((e) => ({ source: e.source, target: e.target, color: "#3f5f8a", width: 0.5 + e.weight }));
  for (const f of g.fibers) {
    nodes.push({ id: `fiber:${f.id}`, fiberId: f.id, label: f.label, kind: "fiber", color: f.superseded ? "#ffb84d" : COLORS.fiber, size: 3.5 });
    for (const n of f.neuron_ids) links.push({ source: `fiber:${f.id}`, target: n, color: "#2c3446", width: 0.6 });
  }
  return { nodes, links };
}

function pick(node, info) {
  if (node.fiberId) openMemory(node.fiberId);
  else info.textContent = `${node.kind}: ${node.label} (${node.id})`;
}
