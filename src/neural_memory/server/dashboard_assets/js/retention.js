// Retention: a memory's strength over time, what reinforced it, the forgetting curve ahead.
import { api, dashPath, query } from "./api.js";
import { openMemory } from "./detail.js";
import { curveChart, fmt, h, mount, ready } from "./ui.js";

const FADED = 0.05;

export async function retentionPage(page, fiberId) {
  const recent = await api(dashPath("/timeline" + query({ limit: 100 })));
  const pick = h("select", { name: "memory" },
    recent.items.map((m) => h("option", { value: m.fiber_id }, `${fmt.date(m.occurred_at)} ${m.content.slice(0, 80)}`)));
  const body = h("div");
  mount(page, "retention", h("h1", {}, "Retention"), h("p.row", {}, h("label", {}, "Memory "), pick), body);
  pick.addEventListener("change", () => { location.hash = `#/retention/${encodeURIComponent(pick.value)}`; });
  const chosen = fiberId ?? recent.items[0]?.fiber_id;
  if (!chosen) { body.append(h("p.muted", {}, "No memories yet.")); ready(page); return; }
  if (![...pick.options].some((o) => o.value === chosen)) pick.prepend(h("option", { value: chosen }, chosen));
  pick.value = chosen;
  const m = await api(dashPath(`/memories/${encodeURIComponent(chosen)}`));
  const r = m.retention;
  body.append(
    h("p", { dataset: { role: "memory" } }, m.content, " ", h("button.quiet", { type: "button", onclick: () => openMemory(m.fiber_id) }, "open")),
    h("p", {}, `strength now ${m.conductivity.toFixed(3)} · recalled ${m.access_count}× · stability ${r.stability_days.toFixed(1)} days · `,
      r.days_until_faded === null ? "not expected to fade within 90 days" : `fades below ${FADED} in ${r.days_until_faded.toFixed(0)} days unless recalled`),
    h("section.card", { dataset: { chart: "retention" } }, curveChart({ ...r, threshold: FADED }),
      h("p.legend", {}, h("span", {}, "— modelled strength"), h("span", {}, "- - forgetting curve ahead"), h("span", {}, "● reinforcing recall"))),
    h("h2", {}, "What reinforced it"),
    r.reinforcements.length
      ? h("table", {}, h("tbody", {}, r.reinforcements.map((x) => h("tr", {}, h("td", {}, fmt.time(x.at)), h("td", {}, x.query), h("td", {}, x.strength_after.toFixed(3))))))
      : h("p.muted", {}, "No recorded recall used this memory yet."),
  );
  ready(page);
}
