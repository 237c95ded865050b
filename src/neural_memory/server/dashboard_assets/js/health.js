// Health: run a pulse, list alerts, acknowledge or resolve them.
import { api, brainPath, dashPath, query } from "./api.js";
import { fmt, h, mount, ready } from "./ui.js";

const STATUSES = ["active", "seen", "acknowledged", "resolved"];

export async function healthPage(page) {
  const note = h("p.muted", { role: "status" });
  const run = h("button", { type: "button", dataset: { action: "pulse" } }, "Run health check");
  const table = h("tbody");
  mount(page, "health", h("h1", {}, "Health"), h("p.row", {}, run, note), h("table", {},
    h("thead", {}, h("tr", {}, ["severity", "alert", "status", "value / threshold", "raised", ""].map((t) => h("th", {}, t)))), table));
  const load = async () => {
    const { alerts } = await api(brainPath("/alerts" + query({ status: STATUSES, limit: 200 })));
    table.replaceChildren(...alerts.map((a) => row(a, load, note)));
    if (!alerts.length) table.append(h("tr", {}, h("td", { colSpan: 6 }, "No alerts.")));
  };
  run.addEventListener("click", async () => {
    run.disabled = true;
    const r = await api(brainPath("/health"), { method: "POST" });
    note.textContent = `${r.healthy ? "Healthy" : "Findings: " + r.findings.join(", ")} · ${r.raised.length} raised · ${r.resolved_count} resolved`;
    await load();
    run.disabled = false;
  });
  await load();
  ready(page);
}

function row(a, reload, note) {
  const act = async (path, method) => {
    try { await api(path, { method }); await reload(); } catch (error) { note.textContent = error.message; }
  };
  const open = a.status !== "resolved";
  return h("tr", { dataset: { alert: a.id, status: a.status } },
    h("td", { className: `severity-${a.severity}` }, a.severity),
    h("td", {}, h("strong", {}, a.alert_type), h("div.muted", {}, a.message)),
    h("td", {}, a.status),
    h("td", {}, `${a.metric_value.toFixed(2)} / ${a.threshold.toFixed(2)}`),
    h("td", {}, fmt.time(a.created_at)),
    h("td", {},
      open && a.status !== "acknowledged" ? h("button", { type: "button", dataset: { action: "acknowledge" }, onclick: () => act(brainPath(`/alerts/${encodeURIComponent(a.id)}/acknowledge`), "POST") }, "Acknowledge") : null,
      open ? h("button.quiet", { type: "button", dataset: { action: "resolve" }, onclick: () => act(dashPath(`/alerts/${encodeURIComponent(a.id)}/resolve`), "POST") }, "Resolve") : null));
}
