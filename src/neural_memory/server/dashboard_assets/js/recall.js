// Recall explorer: a question -> the context within a token budget, each memory's signals
// and, when the server explains recall (`why`), the activation path drawn as a graph.
import { api, ApiError, brainPath } from "./api.js";
import { COLORS, GraphView } from "./graphview.js";
import { openMemory } from "./detail.js";
import { bar, fmt, h, mount, ready } from "./ui.js";

let explainSupported = true;
let last = null;  // the last answer, kept while the tab lives

export async function recallPage(page) {
  const question = h("input.grow", { name: "question", placeholder: "Ask the brain a question", required: true });
  const budget = h("input", { name: "max_tokens", type: "number", min: 1, value: 400, title: "token budget" });
  const form = h("form.row", {}, question, h("label", {}, "tokens ", budget), h("button", { type: "submit" }, "Recall"));
  const result = h("div");
  mount(page, "recall", h("h1", {}, "Recall explorer"), form, result);
  let view = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    page.dataset.ready = "false";
    view?.destroy();
    last = await recall(question.value, Number(budget.value) || undefined);
    view = show(result, last);
    ready(page);
  });
  if (last) { question.value = last.query; view = show(result, last); }
  ready(page);
  return () => view?.destroy();
}

async function recall(query, maxTokens) {
  const body = { query, max_tokens: maxTokens, max_fibers: 10 };
  if (explainSupported) {
    try {
      return await api(brainPath("/recall"), { method: "POST", body: { ...body, explain: true } });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 422 && /explain/.test(error.message))) throw error;
      explainSupported = false;  // this server's recall does not explain itself yet
    }
  }
  return api(brainPath("/recall"), { method: "POST", body });
}

function show(container, r) {
  const explained = r.fibers.some((f) => f.why);
  const canvas = h("canvas.graph.small", { dataset: { role: "why-graph" } });
  const caption = h("p.muted", { dataset: { role: "why-caption" } });
  let select = () => {};
  const rows = r.fibers.map((f, i) => {
    const row = h("tr.clickable", { dataset: { fiber: f.fiber_id }, onclick: () => select(i) },
      h("td", {}, String(i + 1)), h("td", {}, f.content),
      h("td", {}, bar(f.score), " ", f.score.toFixed(2)),
      h("td", {}, bar(f.lexical)), h("td", {}, bar(f.activation)), h("td", {}, bar(f.semantic)),
      h("td", {}, h("button.quiet", { type: "button", onclick: (e) => { e.stopPropagation(); openMemory(f.fiber_id); } }, "open")));
    return row;
  });
  container.replaceChildren(
    h("p", {}, `confidence ${fmt.pct(r.confidence)} · ${r.tokens_used} tokens · ${r.neurons_activated} neurons activated · depth ${r.depth_used} · ${r.latency_ms.toFixed(1)} ms`),
    h("pre.context", { dataset: { role: "context" } }, r.context || "(nothing recalled)"),
    h("table", {}, h("thead", {}, h("tr", {}, ["#", "memory", "score", "lexical", "activation", "semantic", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
    h("h2", {}, "Why: the activation path"),
    explained ? caption : h("p.notice", { dataset: { role: "no-why" } }, "This server's recall does not explain itself yet (no `why` in its answer); the signals above still show how each memory scored."),
    explained ? canvas : null,
  );
  if (!explained || !r.fibers.length) return null;
  const view = new GraphView(canvas);
  select = (i) => {
    rows.forEach((row, j) => row.classList.toggle("selected", i === j));
    const f = r.fibers[i];
    const graph = whyGraph(f);
    view.setGraph(graph.nodes, graph.links, { layout: false });
    canvas.dataset.pathLength = String(graph.steps);
    caption.textContent = graph.steps
      ? `From ${graph.anchors.join(", ")} to “${f.content.slice(0, 60)}” in ${graph.steps} hop(s).`
      : "No path: this memory was found by its own words.";
  };
  select(0);
  return view;
}

/** The paths in a `why`, whatever its exact shape: lists of steps {id, label, kind}. */
export function pathsOf(why) {
  const raw = why?.paths ?? why?.path ?? why?.activation_path ?? why?.hops ?? [];
  const list = Array.isArray(raw) ? raw : [raw];
  const paths = list.length && !Array.isArray(list[0]) && !(list[0]?.steps || list[0]?.nodes || list[0]?.path) ? [list] : list;
  return paths.map((p) => (Array.isArray(p) ? p : p.steps ?? p.nodes ?? p.path ?? []).map(step)).filter((p) => p.length);
}

function step(s) {
  if (typeof s === "string") return { id: s, label: s };
  const id = s.neuron_id ?? s.id ?? s.node ?? s.to ?? s.label ?? JSON.stringify(s);
  return { id, label: s.label ?? s.content ?? s.text ?? s.neuron ?? id, kind: s.kind ?? s.hop ?? s.via ?? s.type };
}

function whyGraph(fiber) {
  const paths = pathsOf(fiber.why);
  const nodes = new Map(), links = [];
  const memory = { id: `fiber:${fiber.fiber_id}`, label: fiber.content.slice(0, 40), kind: "fiber", color: COLORS.fiber, size: 7 };
  paths.forEach((path, row) => {
    path.forEach((s, col) => {
      if (!nodes.has(s.id)) {
        nodes.set(s.id, { id: s.id, label: s.kind && col ? `${s.label} (${s.kind})` : s.label,
          color: col === 0 ? COLORS.entity : COLORS.concept, ring: col === 0 ? "#ffffff" : undefined,
          size: 6, x: col * 140, y: row * 60 });
      }
      if (col) links.push({ source: path[col - 1].id, target: s.id, color: "#ffd166", width: 2 });
    });
    links.push({ source: path[path.length - 1].id, target: memory.id, color: "#6bdc9b", width: 2 });
  });
  const longest = Math.max(0, ...paths.map((p) => p.length));
  nodes.set(memory.id, { ...memory, x: longest * 140, y: 0 });
  return {
    nodes: [...nodes.values()], links, steps: longest,
    anchors: [...new Set(paths.map((p) => p[0].label))],
  };
}
