// The detail view of one memory: fields, chain, and edit / tag / forget (write keys only).
import { api, ApiError, dashPath } from "./api.js";
import { badge, fmt, h } from "./ui.js";

const panel = () => document.getElementById("detail");

export async function openMemory(fiberId) {
  const el = panel();
  el.hidden = false;
  el.dataset.ready = "false";
  el.dataset.fiber = fiberId;
  el.replaceChildren(h("p.muted", {}, "Loading…"));
  let m;
  try {
    m = await api(dashPath(`/memories/${encodeURIComponent(fiberId)}`));
  } catch (error) {
    el.replaceChildren(close(), h("p.error", { role: "alert" }, error.message));
    return;
  }
  const status = h("p.error", { role: "status", dataset: { role: "detail-status" } });
  const text = h("textarea", { name: "text" }, m.content);
  const tags = h("input", { name: "tags", value: m.tags.join(", "), placeholder: "tag, tag" });
  const forget = h("button.danger", { type: "button", dataset: { action: "forget" } }, "Forget");
  forget.addEventListener("click", () => {
    if (forget.dataset.armed !== "true") {
      forget.dataset.armed = "true";
      forget.textContent = "Really forget? Click again";
      return;
    }
    write(status, "DELETE", "", undefined, () => { el.hidden = true; });
  });
  el.replaceChildren(
    close(),
    h("h2", {}, "Memory"),
    h("p", { dataset: { role: "content" } }, m.content),
    h("p", {}, badge(m.stage, m.stage), m.memory_type ? badge(m.memory_type) : null,
      m.conductivity < 0.05 ? badge("forgotten (faded)", "faded") : null,
      ...m.tags.map((t) => badge(`#${t}`))),
    h("table", {}, h("tbody", {}, [
      ["happened", fmt.time(m.occurred_at)], ["stored", fmt.time(m.created_at)],
      ["last recalled", fmt.time(m.last_conducted)], ["recalls", String(m.access_count)],
      ["strength", m.conductivity.toFixed(3)], ["salience", m.salience.toFixed(2)],
      ["id", m.fiber_id],
    ].map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))),
    h("h3", {}, "Edit"), text,
    h("div.actions", {},
      h("button", { type: "button", dataset: { action: "edit" }, onclick: () => write(status, "POST", "/edit", { text: text.value }) }, "Save correction")),
    h("h3", {}, "Tags"), tags,
    h("div.actions", {},
      h("button", { type: "button", dataset: { action: "tag" }, onclick: () => write(status, "PUT", "/tags", { tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean) }) }, "Save tags"),
      forget),
    status,
    h("div.actions", {},
      h("a", { href: `#/retention/${encodeURIComponent(m.fiber_id)}` }, "Retention"),
      h("a", { href: `#/graph/fiber/${encodeURIComponent(m.fiber_id)}` }, "Graph")),
    h("h3", {}, "Supersession chain"),
    h("ol.chain", {}, m.chain.map((c) => h(`li${c.current ? ".current" : ""}`, { dataset: { fiber: c.fiber_id } }, `${fmt.date(c.occurred_at)} — ${c.content}`))),
    h("h3", {}, "Neurons"),
    h("p", {}, m.neurons.map((n) => badge(`${n.type}: ${n.label}`))),
  );
  el.dataset.ready = "true";
}

function close() {
  return h("button.quiet", { type: "button", onclick: () => { panel().hidden = true; } }, "Close ✕");
}

async function write(status, method, rest, body, after) {
  const fiberId = panel().dataset.fiber;
  status.textContent = "";
  try {
    const answer = await api(dashPath(`/memories/${encodeURIComponent(fiberId)}${rest}`), { method, body });
    after?.();
    window.dispatchEvent(new CustomEvent("neural-memory:changed"));
    if (method !== "DELETE") await openMemory(answer?.fiber_id ?? fiberId);
  } catch (error) {
    status.textContent = error instanceof ApiError && error.status === 403
      ? "This key may only read: it cannot change memories." : `Not saved: ${error.message}`;
    status.dataset.failed = "true";
  }
}
