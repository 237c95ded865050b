// Runs a ForceLayout off the main thread: drawing, panning and zooming stay fluid while
// thousands of nodes settle. Posts positions about every 30 ms until the layout has cooled.
import { ForceLayout } from "./layout.js";

const COOLING = 0.985, COLD = 0.02, SLICE_MS = 30;
let layout = null, alpha = 0;

self.onmessage = (event) => {
  layout = new ForceLayout(event.data.nodes, event.data.links);
  alpha = 1;
  run();
};

function run() {
  const started = performance.now();
  let steps = 0;
  while (alpha > COLD && performance.now() - started < SLICE_MS) {
    layout.step(alpha);
    alpha *= COOLING;
    steps += 1;
  }
  const done = alpha <= COLD;
  self.postMessage({ x: layout.x, y: layout.y, done, stepMs: (performance.now() - started) / Math.max(1, steps) });
  if (!done) setTimeout(run, 0);
}
