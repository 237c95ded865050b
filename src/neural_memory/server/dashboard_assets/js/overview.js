// Overview: counts (first paint), then growth, stages, status and types (server aggregates).
import { api, dashPath } from "./api.js";
import { barChart, fmt, h, mount, ready } from "./ui.js";

const STATS = [
  ["fiber_count", "memories"], ["neuron_count", "neurons"], ["synapse_count", "synapses"],
  ["typed_memory_count", "typed memories"], ["project_count", "projects"],
  ["orphan_neuron_count", "orphan neurons"], ["expired_memory_count", "expired memories"],
];

export async function overviewPage(page) {
  const o = await api(dashPath("/overview"));
  const cards = STATS.map(([field, label]) => stat(fmt.num(o[field]), label, field));
  cards.push(stat(fmt.bytes(o.storage_bytes), "storage size", "storage_bytes"));
  const charts = h("div.charts", {}, h("p.muted", { dataset: { pending: "aggregates" } }, "Computing aggregates…"));
  mount(page, "overview", h("h1", {}, `Brain “${o.name}”`), h("div.grid", {}, cards), charts);
  page.dataset.firstPaint = "true";
  page.dataset.firstPaintMs = performance.now().toFixed(0);  // since navigation started
  const a = await api(dashPath("/overview/aggregates"));
  charts.replaceChildren(
    chartCard(`Growth (memories stored per ${a.period})`, barChart(
      a.growth.map((b) => ({ label: fmt.date(b.start).slice(a.period === "month" ? 0 : 5, a.period === "month" ? 7 : 10), value: b.added })),
      { label: "growth", line: a.growth.map((b) => b.total) },
    ), "growth"),
    chartCard("Maturation stage", barChart(entries(a.stages, "#6bdc9b"), { label: "stages" }), "stages"),
    chartCard("Memory type", barChart(entries(a.memory_types, "#ffd166"), { label: "types" }), "types",
      Object.keys(a.memory_types).length ? null : h("p.muted", {}, "No typed memories.")),
    chartCard("Status", barChart(entries(a.status, "#ff9f6b"), { label: "status" }), "status"),
  );
  charts.append(h("p.muted", {}, `Aggregated server-side in ${a.elapsed_ms.toFixed(0)} ms.`));
  ready(page);
}

function stat(value, label, field) {
  return h("div.card.stat", { dataset: { stat: field } }, h("div.value", {}, value), h("div.label", {}, label));
}

function entries(counts, color) {
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label, value, color }));
}

function chartCard(title, chart, name, note = null) {
  return h("section.card", { dataset: { chart: name } }, h("h2", {}, title), note, chart);
}
