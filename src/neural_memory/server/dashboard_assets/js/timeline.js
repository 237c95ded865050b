// Timeline: memories by the date they happened, newest first, a page at a time;
// superseded, forgotten (faded) and expired memories are marked.
import { api, dashPath, query } from "./api.js";
import { openMemory } from "./detail.js";
import { badge, fmt, h, mount, ready } from "./ui.js";

export async function timelinePage(page) {
  const list = h("div.timeline");
  const more = h("button", { type: "button" }, "Older memories");
  const total = h("span.muted");
  mount(page, "timeline", h("h1", {}, "Timeline"), h("p.row", {},
    total, badge("superseded", "superseded"), badge("forgotten (faded)", "faded"), badge("expired", "expired")), list, more);
  let before = null, lastDay = null;
  const load = async () => {
    more.disabled = true;
    const answer = await api(dashPath("/timeline" + query({ before, limit: 50 })));
    total.textContent = `${fmt.num(answer.total)} memories`;
    for (const item of answer.items) {
      const day = fmt.date(item.occurred_at);
      if (day !== lastDay) { list.append(h("div.day", {}, day)); lastDay = day; }
      list.append(entry(item));
    }
    before = answer.next_before;
    more.hidden = before === null;
    more.disabled = false;
  };
  more.addEventListener("click", load);
  await load();
  if (!list.children.length) list.append(h("p.muted", {}, "No memories yet."));
  ready(page);
}

function entry(item) {
  const classes = [item.superseded_by && "superseded", item.faded && "faded"].filter(Boolean).map((c) => "." + c).join("");
  return h(`div.item${classes}`, { dataset: { fiber: item.fiber_id }, onclick: () => openMemory(item.fiber_id) },
    h("span.text", {}, item.content), " ",
    item.superseded_by ? badge("superseded", "superseded") : null,
    item.supersedes ? badge("updates an older value") : null,
    item.faded ? badge("forgotten (faded)", "faded") : null,
    item.expired ? badge("expired", "expired") : null,
    item.stage !== "episodic" ? badge(item.stage, item.stage) : null,
    ...item.tags.map((t) => badge(`#${t}`)),
    h("span.muted", {}, ` ${fmt.time(item.occurred_at).slice(11)}`));
}
