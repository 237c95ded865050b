// A force layout over typed arrays (no DOM): repulsion between nodes in the same or a
// neighbouring grid cell (bucketed with a counting sort), springs along links, a pull to the
// centre. Each iteration is linear in nodes + links, so 10k elements stay interactive.

const CELL = 40;
const REST = 30;

export class ForceLayout {
  /** nodes: [{x, y}], links: [[sourceIndex, targetIndex]] */
  constructor(nodes, links) {
    const count = nodes.length;
    this.nodes = nodes;
    this.x = Float64Array.from(nodes, (n) => n.x);
    this.y = Float64Array.from(nodes, (n) => n.y);
    this.vx = new Float64Array(count);
    this.vy = new Float64Array(count);
    this.source = Int32Array.from(links, (l) => l[0]);
    this.target = Int32Array.from(links, (l) => l[1]);
    this.cellOf = new Int32Array(count);
    this.order = new Int32Array(count);
  }

  /** One iteration at temperature ``alpha`` (0-1). */
  step(alpha) {
    const { x, y, vx, vy, cellOf, order } = this, count = x.length;
    if (!count) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < count; i++) {
      if (x[i] < x0) x0 = x[i]; if (x[i] > x1) x1 = x[i];
      if (y[i] < y0) y0 = y[i]; if (y[i] > y1) y1 = y[i];
    }
    const cell = Math.max(CELL, (x1 - x0) / 256, (y1 - y0) / 256);
    const cols = Math.floor((x1 - x0) / cell) + 1, rows = Math.floor((y1 - y0) / cell) + 1;
    const starts = new Int32Array(cols * rows + 1);
    for (let i = 0; i < count; i++) {
      const c = Math.floor((y[i] - y0) / cell) * cols + Math.floor((x[i] - x0) / cell);
      cellOf[i] = c;
      starts[c + 1] += 1;
    }
    for (let c = 0; c < cols * rows; c++) starts[c + 1] += starts[c];
    const fill = starts.slice(0, cols * rows);
    for (let i = 0; i < count; i++) order[fill[cellOf[i]]++] = i;
    const reach = CELL * CELL, push = 60 * alpha, gravity = 0.002 * alpha;
    for (let i = 0; i < count; i++) {
      const xi = x[i], yi = y[i], cx = cellOf[i] % cols, cy = (cellOf[i] - cx) / cols;
      let fx = 0, fy = 0;
      for (let gy = cy > 0 ? cy - 1 : 0; gy <= cy + 1 && gy < rows; gy++) {
        for (let gx = cx > 0 ? cx - 1 : 0; gx <= cx + 1 && gx < cols; gx++) {
          const c = gy * cols + gx, end = starts[c + 1];
          for (let k = starts[c]; k < end; k++) {
            const j = order[k];
            if (j === i) continue;
            let ex = xi - x[j], ey = yi - y[j], d2 = ex * ex + ey * ey;
            if (d2 > reach) continue;
            if (d2 < 0.01) { ex = ((i * 7919) % 13) - 6; ey = ((i * 104729) % 13) - 6; d2 = 1; }
            fx += ex / d2; fy += ey / d2;
          }
        }
      }
      vx[i] += fx * push - xi * gravity;
      vy[i] += fy * push - yi * gravity;
    }
    const { source, target } = this, spring = 0.05 * alpha;
    for (let l = 0; l < source.length; l++) {
      const a = source[l], b = target[l], ex = x[b] - x[a], ey = y[b] - y[a];
      const d = Math.sqrt(ex * ex + ey * ey) || 1, pull = ((d - REST) / d) * spring;
      vx[a] += ex * pull; vy[a] += ey * pull; vx[b] -= ex * pull; vy[b] -= ey * pull;
    }
    for (let i = 0; i < count; i++) {
      vx[i] *= 0.6; vy[i] *= 0.6;
      x[i] += vx[i] > 20 ? 20 : vx[i] < -20 ? -20 : vx[i];
      y[i] += vy[i] > 20 ? 20 : vy[i] < -20 ? -20 : vy[i];
    }
  }

  /** Copy the positions back to the node objects (for drawing and picking). */
  sync() {
    const { nodes, x, y } = this;
    for (let i = 0; i < nodes.length; i++) { nodes[i].x = x[i]; nodes[i].y = y[i]; }
  }
}
