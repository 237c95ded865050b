// Small DOM and formatting helpers, and SVG charts (no library).
const SVG = "http://www.w3.org/2000/svg";

/** h("div.card#id", {attrs}, children...) */
export function h(spec, attrs = {}, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === ".") el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  setAttrs(el, attrs);
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
}

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

export const fmt = {
  num: (n) => (n ?? 0).toLocaleString("en-US"),
  pct: (x) => `${Math.round((x ?? 0) * 100)}%`,
  date: (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : "—"),
  time: (iso) => (iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") : "—"),
  bytes(n) {
    if (n === null || n === undefined) return "—";
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
  },
};

export function bar(value) {
  const fill = h("span");
  fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
  return h("span.bar", { title: value.toFixed(3) }, fill);
}

export function badge(text, kind = "") {
  return h(`span.badge${kind ? "." + kind : ""}`, {}, text);
}

/** Vertical bars (values) with an optional line (totals) over the same x axis. */
export function barChart(items, { label, line } = {}) {
  const W = 600, H = 220, L = 46, B = 28, T = 10;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label ?? "chart" });
  if (!items.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data"));
    return svg;
  }
  const max = Math.max(1, ...items.map((d) => d.value));
  const step = (W - L - 8) / items.length;
  svg.append(s("text", { x: 4, y: T + 8 }, fmt.num(max)), s("text", { x: 4, y: H - B }, "0"));
  items.forEach((d, i) => {
    const height = ((H - B - T) * d.value) / max;
    const rect = s("rect", {
      x: L + i * step + 1, y: H - B - height, width: Math.max(1, step - 2), height,
      fill: d.color ?? "#7cc4ff", rx: 2,
    });
    rect.append(s("title", {}, `${d.label}: ${fmt.num(d.value)}`));
    svg.append(rect);
  });
  const every = Math.max(1, Math.ceil(items.length / 8));
  items.forEach((d, i) => {
    if (i % every === 0) {
      svg.append(s("text", { x: L + i * step + step / 2, y: H - 8, "text-anchor": "middle" }, d.label));
    }
  });
  if (line) {
    const top = Math.max(1, ...line);
    const points = line.map((v, i) => `${L + i * step + step / 2},${H - B - ((H - B - T) * v) / top}`);
    svg.append(s("polyline", { points: points.join(" "), fill: "none", stroke: "#ffd166", "stroke-width": 2 }));
    svg.append(s("text", { x: W - 4, y: T + 8, "text-anchor": "end", fill: "#ffd166" }, `total ${fmt.num(top)}`));
  }
  return svg;
}

/** Strength (0-1) over time: solid history, dashed forecast, dots at reinforcements. */
export function curveChart({ history, forecast, reinforcements, threshold }) {
  const W = 700, H = 260, L = 40, B = 28, T = 10, R = 10;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "retention curve" });
  const all = [...history, ...forecast];
  const t0 = Date.parse(all[0].at), t1 = Date.parse(all[all.length - 1].at);
  const x = (iso) => L + ((W - L - R) * (Date.parse(iso) - t0)) / Math.max(1, t1 - t0);
  const y = (v) => H - B - (H - B - T) * v;
  const path = (pts) => pts.map((p) => `${x(p.at)},${y(p.strength)}`).join(" ");
  for (const v of [0, 0.5, 1]) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#2a3345" }));
    svg.append(s("text", { x: 4, y: y(v) + 4 }, v.toFixed(1)));
  }
  svg.append(s("line", { x1: L, x2: W - R, y1: y(threshold), y2: y(threshold), stroke: "#ff6b6b", "stroke-dasharray": "2 4" }));
  svg.append(s("polyline", { points: path(history), fill: "none", stroke: "#7cc4ff", "stroke-width": 2, class: "history" }));
  svg.append(s("polyline", { points: path(forecast), fill: "none", stroke: "#ffd166", "stroke-width": 2, "stroke-dasharray": "6 4", class: "forecast" }));
  for (const r of reinforcements) {
    const dot = s("circle", { cx: x(r.at), cy: y(r.strength_after), r: 4, fill: "#6bdc9b" });
    dot.append(s("title", {}, `${fmt.time(r.at)}: ${r.query}`));
    svg.append(dot);
  }
  svg.append(s("text", { x: L, y: H - 8 }, fmt.date(all[0].at)));
  svg.append(s("text", { x: x(forecast[0].at), y: H - 8, "text-anchor": "middle" }, "now"));
  svg.append(s("text", { x: W - R, y: H - 8, "text-anchor": "end" }, fmt.date(all[all.length - 1].at)));
  return svg;
}

/** Replace the page content; mark it ready for whoever waits on it (tests, screenshots). */
export function mount(page, name, ...children) {
  page.replaceChildren(...children);
  page.dataset.page = name;
}

export function ready(page) { page.dataset.ready = "true"; }
