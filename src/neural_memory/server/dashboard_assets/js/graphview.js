// A graph drawn on a canvas (not SVG: thousands of elements stay fluid) with a force layout
// that runs a few iterations per animation frame, pan (drag), zoom (wheel) and click to pick.

export const COLORS = {
  entity: "#ffd166", concept: "#7cc4ff", time: "#c39bff", action: "#6bdc9b", state: "#ff9f6b",
  spatial: "#4dd4c6", sensory: "#ff7bac", intent: "#b8e05a", fiber: "#e6ebf4", other: "#93a0b8",
};

export class GraphView {
  constructor(canvas, { onPick } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onPick = onPick;
    this.nodes = [];
    this.links = [];
    this.view = { x: 0, y: 0, k: 1 };
    this.frame = null;
    this.worker = null;
    this.picked = null;
    this.bindInput();
    this.resize();
    this.observer = new ResizeObserver(() => { this.resize(); this.draw(); });
    this.observer.observe(canvas);
  }

  /** nodes: [{id, label, kind, color, size, x?, y?}], links: [{source, target, color, width}] */
  setGraph(nodes, links, { layout = true } = {}) {
    const byId = new Map();
    this.nodes = nodes.map((n, i) => {
      const angle = i * 2.399963, radius = 12 * Math.sqrt(i + 1);
      const node = { size: 4, color: COLORS.other, ...n };
      node.x ??= radius * Math.cos(angle);
      node.y ??= radius * Math.sin(angle);
      byId.set(node.id, node);
      return node;
    });
    this.links = links
      .map((l) => ({ ...l, a: byId.get(l.source), b: byId.get(l.target) }))
      .filter((l) => l.a && l.b);
    this.byId = byId;
    this.worker?.terminate();
    this.worker = null;
    this.canvas.dataset.nodes = String(this.nodes.length);
    this.canvas.dataset.links = String(this.links.length);
    delete this.canvas.dataset.settled;
    this.fit();
    if (layout && this.nodes.length > 1) this.startLayout(); else this.settle();
  }

  /** Lay the graph out in a worker; each batch of positions it posts is drawn. */
  startLayout() {
    const index = new Map(this.nodes.map((n, i) => [n, i]));
    this.worker = new Worker(new URL("./layout-worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = ({ data }) => {
      this.nodes.forEach((n, i) => { n.x = data.x[i]; n.y = data.y[i]; });
      this.canvas.dataset.stepMs = data.stepMs.toFixed(2);
      if (data.done) { this.worker.terminate(); this.worker = null; this.settle(); }
      else this.redraw();
    };
    this.worker.postMessage({
      nodes: this.nodes.map((n) => ({ x: n.x, y: n.y })),
      links: this.links.map((l) => [index.get(l.a), index.get(l.b)]),
    });
  }

  settle() {
    this.fit();
    this.canvas.dataset.settled = "true";
    this.redraw();
  }

  /** Draw on the next animation frame (several requests in one frame draw once). */
  redraw() {
    if (this.frame === null) this.frame = requestAnimationFrame(() => { this.frame = null; this.draw(); });
  }

  resize() {
    const ratio = window.devicePixelRatio || 1, box = this.canvas.getBoundingClientRect();
    this.width = box.width || 600; this.height = box.height || 400;
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  }

  fit() {
    if (!this.nodes.length) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of this.nodes) {
      x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y);
    }
    const labels = 170;  // room on the right for the labels of the outermost nodes
    const k = Math.min(4, 0.9 * Math.min((this.width - labels) / (x1 - x0 || 1), this.height / (y1 - y0 || 1)));
    const x = (this.width - labels) / 2 - (k * (x0 + x1)) / 2;
    this.view = { k, x, y: this.height / 2 - (k * (y0 + y1)) / 2 };
  }

  /** Draw one frame; its duration is kept in data-draw-ms (benchmarks read it). */
  draw() {
    const started = performance.now();
    const { ctx, view } = this;
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.save();
    ctx.translate(view.x, view.y);
    ctx.scale(view.k, view.k);
    const byColor = new Map();
    for (const l of this.links) {
      const key = `${l.color ?? "#3a4560"}|${l.width ?? 1}`;
      if (!byColor.has(key)) byColor.set(key, []);
      byColor.get(key).push(l);
    }
    for (const [key, links] of byColor) {
      const [color, width] = key.split("|");
      ctx.beginPath();
      for (const l of links) { ctx.moveTo(l.a.x, l.a.y); ctx.lineTo(l.b.x, l.b.y); }
      ctx.strokeStyle = color; ctx.lineWidth = Number(width) / view.k; ctx.stroke();
    }
    const shapes = new Map();  // one path per colour: a fill per colour, not per node
    for (const n of this.nodes) {
      if (!shapes.has(n.color)) shapes.set(n.color, new Path2D());
      const r = (n === this.picked ? n.size * 1.8 : n.size) / Math.sqrt(view.k), path = shapes.get(n.color);
      // Squares for memories, and for every node too small on screen for a circle to show.
      if (n.kind === "fiber" || r * view.k < 3) path.rect(n.x - r, n.y - r, 2 * r, 2 * r);
      else { path.moveTo(n.x + r, n.y); path.arc(n.x, n.y, r, 0, 6.2832); }
    }
    for (const [color, path] of shapes) { ctx.fillStyle = color; ctx.fill(path); }
    ctx.lineWidth = 2 / view.k;
    for (const n of this.nodes) {
      if (!n.ring) continue;
      const r = n.size / Math.sqrt(view.k);
      ctx.strokeStyle = n.ring; ctx.beginPath(); ctx.arc(n.x, n.y, r, 0, 6.2832); ctx.stroke();
    }
    const showLabels = this.nodes.length <= 400 || view.k > 2.5;
    ctx.fillStyle = "#e6ebf4";
    ctx.font = `${12 / view.k}px system-ui, sans-serif`;
    for (const n of this.nodes) {
      if ((showLabels || n === this.picked || n.ring) && n.label) {
        ctx.fillText(n.label.slice(0, 40), n.x + (n.size + 2) / view.k, n.y + 4 / view.k);
      }
    }
    ctx.restore();
    this.canvas.dataset.drawMs = (performance.now() - started).toFixed(2);
  }

  bindInput() {
    let drag = null;
    this.canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, moved: false }; });
    this.onMove = (e) => {
      if (!drag) return;
      this.view.x += e.clientX - drag.x; this.view.y += e.clientY - drag.y;
      drag.moved ||= Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 2;
      drag.x = e.clientX; drag.y = e.clientY;
      this.draw();
    };
    this.onUp = (e) => {
      if (drag && !drag.moved) this.pickAt(e);
      drag = null;
    };
    window.addEventListener("mousemove", this.onMove);
    window.addEventListener("mouseup", this.onUp);
    this.canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const box = this.canvas.getBoundingClientRect(), px = e.clientX - box.left, py = e.clientY - box.top;
      const factor = Math.exp(-e.deltaY * 0.0015);
      this.view.x = px - (px - this.view.x) * factor; this.view.y = py - (py - this.view.y) * factor;
      this.view.k *= factor;
      this.draw();
    }, { passive: false });
  }

  pickAt(e) {
    const box = this.canvas.getBoundingClientRect();
    const x = (e.clientX - box.left - this.view.x) / this.view.k, y = (e.clientY - box.top - this.view.y) / this.view.k;
    let best = null, bestD = (10 / this.view.k) ** 2;
    for (const n of this.nodes) {
      const d = (n.x - x) ** 2 + (n.y - y) ** 2;
      if (d < bestD) { best = n; bestD = d; }
    }
    this.picked = best;
    this.draw();
    if (best && this.onPick) this.onPick(best);
  }

  destroy() {
    this.observer.disconnect();
    this.worker?.terminate();
    window.removeEventListener("mousemove", this.onMove);
    window.removeEventListener("mouseup", this.onUp);
    if (this.frame !== null) cancelAnimationFrame(this.frame);
  }
}
