// Sign-in, brain choice and the page router (#/page/argument).
import { api, ApiError, session } from "./api.js";
import { h } from "./ui.js";
import { overviewPage } from "./overview.js";
import { recallPage } from "./recall.js";
import { graphPage } from "./graph.js";
import { timelinePage } from "./timeline.js";
import { retentionPage } from "./retention.js";
import { healthPage } from "./health.js";

const PAGES = {
  overview: overviewPage, recall: recallPage, graph: graphPage,
  timeline: timelinePage, retention: retentionPage, health: healthPage,
};
const $ = (id) => document.getElementById(id);
let cleanup = null;

async function signIn(key) {
  const { brains } = await api("/brains", { key });
  session.key = key;
  return brains;
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("detail").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("api-key").focus();
}

function showApp(brains) {
  $("signin").hidden = true;
  $("app").hidden = false;
  const select = $("brain");
  select.replaceChildren(...brains.map((b) => h("option", { value: b.id }, `${b.name} (${b.id.slice(0, 8)})`)));
  if (!brains.some((b) => b.id === session.brain) && brains.length) session.brain = brains[0].id;
  select.value = session.brain ?? "";
  route();
}

async function route() {
  if (!session.key || $("app").hidden) return;
  const [name = "overview", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const render = PAGES[name] ?? overviewPage;
  for (const link of $("nav").querySelectorAll("a")) link.classList.toggle("active", link.dataset.page === name);
  const page = $("page");
  if (cleanup) { cleanup(); cleanup = null; }
  page.dataset.ready = "false";
  if (!session.brain) {
    page.replaceChildren(h("p.notice", {}, "This key sees no brain yet."));
    return;
  }
  try {
    cleanup = (await render(page, ...args)) ?? null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showSignIn("The key was refused.");
    page.replaceChildren(h("p.error", { role: "alert" }, `Error: ${error.message}`));
  }
}

function boot() {
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    $("signin-button").disabled = true;
    try {
      showApp(await signIn(key));
      $("api-key").value = "";
    } catch (error) {
      session.key = null;
      showSignIn(error instanceof ApiError && [401, 403].includes(error.status)
        ? "This key is not valid here." : `Cannot sign in: ${error.message}`);
    } finally {
      $("signin-button").disabled = false;
    }
  });
  $("signout").addEventListener("click", () => { session.key = null; showSignIn(); });
  $("brain").addEventListener("change", (event) => { session.brain = event.target.value; route(); });
  window.addEventListener("hashchange", route);
  window.addEventListener("neural-memory:changed", route);
  if (session.key) signIn(session.key).then(showApp, () => showSignIn("Please sign in again."));
  else showSignIn();
}

boot();
