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
    this.alpha = 0;
    this.frame = null;
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
      const node = { size: 4, color: COLORS.other, ...n, vx: 0, vy: 0 };
      node.x ??= radius * Math.cos(angle);
      node.y ??= radius * Math.sin(angle);
      byId.set(node.id, node);
      return node;
    });
    this.links = links
      .map((l) => ({ ...l, a: byId.get(l.source), b: byId.get(l.target) }))
      .filter((l) => l.a && l.b);
    this.byId = byId;
    this.canvas.dataset.nodes = String(this.nodes.length);
    this.canvas.dataset.links = String(this.links.length);
    this.alpha = layout ? 1 : 0;
    this.fit();
    this.start();
  }

  start() {
    if (this.frame === null) this.frame = requestAnimationFrame(() => this.tick());
  }

  tick() {
    this.frame = null;
    if (this.alpha > 0.02) {
      const started = performance.now(), until = started + 10;
      let steps = 0;
      do { this.step(); steps += 1; } while (performance.now() < until && this.alpha > 0.02);
      this.canvas.dataset.stepMs = ((performance.now() - started) / steps).toFixed(2);
      if (this.alpha <= 0.02) this.fit();
      this.start();
    } else {
      this.canvas.dataset.settled = "true";
    }
    this.draw();
  }

  /** One iteration: repulsion between nodes sharing a grid cell or a neighbouring one
   * (bucketed with a counting sort, no allocation per node), springs along links and a
   * pull to the centre. Linear in nodes + links, so 10k elements stay interactive. */
  step() {
    const nodes = this.nodes, count = nodes.length, a = this.alpha, cell = 40;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of nodes) {
      if (n.x < x0) x0 = n.x; if (n.x > x1) x1 = n.x; if (n.y < y0) y0 = n.y; if (n.y > y1) y1 = n.y;
    }
    const cols = Math.min(512, Math.floor((x1 - x0) / cell) + 1), rows = Math.min(512, Math.floor((y1 - y0) / cell) + 1);
    const cellOf = new Int32Array(count), starts = new Int32Array(cols * rows + 1), order = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const cx = Math.min(cols - 1, Math.floor((nodes[i].x - x0) / cell));
      const cy = Math.min(rows - 1, Math.floor((nodes[i].y - y0) / cell));
      cellOf[i] = cy * cols + cx;
      starts[cellOf[i] + 1] += 1;
    }
    for (let c = 0; c < cols * rows; c++) starts[c + 1] += starts[c];
    const fill = starts.slice(0, cols * rows);
    for (let i = 0; i < count; i++) order[fill[cellOf[i]]++] = i;
    const reach = cell * cell, push = 60 * a;
    for (let i = 0; i < count; i++) {
      const n = nodes[i], cx = cellOf[i] % cols, cy = (cellOf[i] - cx) / cols;
      for (let gy = Math.max(0, cy - 1); gy <= Math.min(rows - 1, cy + 1); gy++) {
        for (let gx = Math.max(0, cx - 1); gx <= Math.min(cols - 1, cx + 1); gx++) {
          const c = gy * cols + gx;
          for (let k = starts[c]; k < starts[c + 1]; k++) {
            const m = nodes[order[k]];
            if (m === n) continue;
            let ex = n.x - m.x, ey = n.y - m.y, d2 = ex * ex + ey * ey;
            if (d2 > reach) continue;
            if (d2 < 0.01) { ex = Math.random() - 0.5; ey = Math.random() - 0.5; d2 = 0.5; }
            n.vx += (ex * push) / d2; n.vy += (ey * push) / d2;
          }
        }
      }
      n.vx -= n.x * 0.002 * a; n.vy -= n.y * 0.002 * a;
    }
    for (const l of this.links) {
      const ex = l.b.x - l.a.x, ey = l.b.y - l.a.y, d = Math.sqrt(ex * ex + ey * ey) || 1;
      const pull = ((d - 30) / d) * 0.05 * a;
      l.a.vx += ex * pull; l.a.vy += ey * pull; l.b.vx -= ex * pull; l.b.vy -= ey * pull;
    }
    for (const n of nodes) {
      n.vx *= 0.6; n.vy *= 0.6;
      n.x += Math.max(-20, Math.min(20, n.vx)); n.y += Math.max(-20, Math.min(20, n.vy));
    }
    this.alpha *= 0.985;
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
    for (const n of this.nodes) {
      const r = (n === this.picked ? n.size * 1.8 : n.size) / Math.sqrt(view.k);
      ctx.fillStyle = n.color;
      if (n.kind === "fiber") ctx.fillRect(n.x - r, n.y - r, 2 * r, 2 * r);
      else { ctx.beginPath(); ctx.arc(n.x, n.y, r, 0, 6.2832); ctx.fill(); }
      if (n.ring) { ctx.strokeStyle = n.ring; ctx.lineWidth = 2 / view.k; ctx.stroke(); }
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
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      this.view.x += e.clientX - drag.x; this.view.y += e.clientY - drag.y;
      drag.moved ||= Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 2;
      drag.x = e.clientX; drag.y = e.clientY;
      this.draw();
    });
    window.addEventListener("mouseup", (e) => {
      if (drag && !drag.moved) this.pickAt(e);
      drag = null;
    });
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
    if (this.frame !== null) cancelAnimationFrame(this.frame);
  }
}
