// The ops console: one station at a time (members see only their stations), its inbox with AI drafts
// to approve, edit or reject, bookings with a month calendar, the leads board, reviews, budget and audit.

import { ApiError, api, authHeaders, h, say, tokens } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const RANK = { viewer: 0, staff: 1, manager: 2, owner: 3 };
const LEAD_COLUMNS = ["new", "contacted", "qualified", "won", "lost"];
const NEXT_LEAD = { new: "contacted", contacted: "qualified", qualified: "won" };
const state = { stations: [], station: null, tab: "inbox", month: new Date() };

const can = (role) => state.station && RANK[state.station.role] >= RANK[role];
const base = () => `/api/v1/ops/stations/${state.station.id}`;
const when = (iso) => new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
const money = (usd) => `$${Number(usd).toFixed(Number(usd) > 0 && Number(usd) < 1 ? 4 : 2)}`;

function problem(err) {
  if (err instanceof ApiError && err.status === 404) return "That station was not found, or you are not one of its members.";
  if (err instanceof ApiError && err.status === 403) return "Your role in this station does not allow that.";
  if (err instanceof ApiError && err.status === 0) return "The server cannot be reached; check your connection.";
  return err instanceof ApiError ? err.message : "Something went wrong; try again.";
}

function show(id) {
  for (const section of ["auth", "empty", "app"]) $(section).hidden = section !== id;
  const signedIn = id !== "auth";
  $("logout").hidden = !signedIn;
  document.querySelector(".station-pick").hidden = !signedIn || state.stations.length === 0;
}

async function enter() {
  say($("notice"), "");
  const body = await api("/api/v1/ops/stations?limit=100");
  state.stations = body.items;
  const select = $("station");
  select.replaceChildren(...state.stations.map((s) => h("option", { value: s.id }, s.name)));
  if (state.stations.length === 0) return show("empty");
  const wanted = new URLSearchParams(location.hash.slice(1)).get("station");
  await openStation(wanted || state.stations[0].id);
}

async function openStation(id) {
  try {
    state.station = await api(`/api/v1/ops/stations/${id}`);
  } catch (err) {
    state.station = null;
    show("empty");
    $("empty").hidden = true;
    $("role").hidden = true;
    $("home").hidden = state.stations.length === 0;
    say($("notice"), problem(err));
    return;
  }
  $("home").hidden = true;
  history.replaceState(null, "", `#station=${id}`);
  $("station").value = id;
  $("role").textContent = state.station.role;
  $("role").hidden = false;
  say($("notice"), "");
  show("app");
  await render();
}

async function render() {
  for (const tab of document.querySelectorAll(".ops-tabs .tab")) tab.classList.toggle("active", tab.dataset.tab === state.tab);
  for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== `tab-${state.tab}`;
  try {
    await { inbox, bookings, leads, reviews, budget }[state.tab]();
  } catch (err) {
    say($("notice"), problem(err));
  }
}

async function act(work) {
  try {
    await work();
    say($("notice"), "");
  } catch (err) {
    say($("notice"), problem(err));
  }
  await render();
}

// --- inbox ----------------------------------------------------------------------------------

async function inbox() {
  const [drafts, threads] = await Promise.all([
    api(`${base()}/drafts?status=pending&limit=50`),
    api(`${base()}/inbox?limit=50`),
  ]);
  const unread = threads.items.reduce((n, t) => n + t.unread, 0);
  $("unread").textContent = unread ? String(unread) : "";
  $("drafts").replaceChildren(
    ...(drafts.items.length ? drafts.items.map(draftItem) : [h("li", { class: "muted" }, "Nothing waiting for approval.")]),
  );
  $("threads").replaceChildren(
    ...(threads.items.length ? threads.items.map(threadItem) : [h("li", { class: "muted" }, "No conversations yet.")]),
  );
}

function draftItem(draft) {
  const text = h("textarea", { "aria-label": "Reply draft", disabled: !can("staff") });
  text.value = draft.text;
  const approve = () =>
    act(() => api(`${base()}/drafts/${draft.id}/approve`, { method: "POST", body: text.value !== draft.text ? { text: text.value } : {} }));
  const reject = () => act(() => api(`${base()}/drafts/${draft.id}/reject`, { method: "POST" }));
  return h(
    "li",
    { class: "ops-item draft", dataset: { id: draft.id } },
    h("div", { class: "meta" }, h("span", { class: `level level-${draft.level}` }, `Level ${draft.level}`), h("span", {}, when(draft.created_at))),
    h("blockquote", {}, draft.message_text || ""),
    text,
    can("staff")
      ? h("div", { class: "row" }, h("button", { type: "button", class: "primary approve", onclick: approve }, "Approve & send"),
          h("button", { type: "button", class: "secondary reject", onclick: reject }, "Reject"))
      : h("p", { class: "muted small" }, "Viewers cannot send replies."),
  );
}

function threadItem(thread) {
  const open = () => act(() => api(`${base()}/inbox/${thread.id}/read`, { method: "POST" }));
  return h(
    "li",
    { class: `ops-item thread${thread.unread ? " unread" : ""}` },
    h("div", { class: "meta" }, h("span", {}, thread.customer_name || "Customer"), h("span", {}, when(thread.last_message_at))),
    h("div", {}, thread.last_text || ""),
    thread.level === 3 ? h("span", { class: "level level-3" }, "Needs a person") : null,
    thread.unread && can("staff") ? h("button", { type: "button", class: "link", onclick: open }, `Mark ${thread.unread} read`) : null,
  );
}

// --- bookings -------------------------------------------------------------------------------

async function bookings() {
  const body = await api(`${base()}/bookings?limit=100&sort=event_date`);
  $("bookings").replaceChildren(
    ...body.items.map((b) =>
      h("tr", {}, h("td", {}, b.event_date), h("td", {}, b.event_time), h("td", {}, String(b.guests)), h("td", {}, b.package),
        h("td", {}, h("span", { class: "badge" }, b.status))),
    ),
  );
  calendar(body.items);
}

function calendar(items) {
  const first = new Date(state.month.getFullYear(), state.month.getMonth(), 1);
  $("calendar-title").textContent = first.toLocaleDateString("en-US", { month: "long", year: "numeric" });
  const byDay = new Map();
  for (const b of items) byDay.set(b.event_date, [...(byDay.get(b.event_date) || []), b]);
  const cells = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].map((d) => h("div", { class: "dow" }, d));
  const start = new Date(first);
  start.setDate(1 - first.getDay());
  for (let i = 0; i < 42; i++) {
    const day = new Date(start);
    day.setDate(start.getDate() + i);
    const key = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
    const pills = (byDay.get(key) || []).filter((b) => b.status !== "cancelled").map((b) => h("span", { class: "pill" }, `${b.event_time} · ${b.guests}`));
    cells.push(h("div", { class: `day${day.getMonth() === first.getMonth() ? "" : " other"}`, dataset: { date: key } }, String(day.getDate()), ...pills));
  }
  $("calendar").replaceChildren(...cells);
}

// --- leads ----------------------------------------------------------------------------------

async function leads() {
  const body = await api(`${base()}/leads?limit=100&sort=-created_at`);
  const columns = LEAD_COLUMNS.map((status) => {
    const cards = body.items.filter((l) => l.status === status).map(leadCard);
    return h("div", { class: "column", dataset: { status } }, h("h3", {}, `${status} (${cards.length})`), ...cards);
  });
  $("board").replaceChildren(...columns);
}

function leadCard(lead) {
  const qualify = () => act(() => api(`${base()}/leads/${lead.id}/qualify`, { method: "POST" }));
  const advance = () => act(() => api(`${base()}/leads/${lead.id}/status`, { method: "POST", body: { status: NEXT_LEAD[lead.status] } }));
  return h(
    "div",
    { class: "ops-item lead" },
    h("div", { class: "meta" }, h("strong", {}, lead.name || "Lead"), lead.score === null ? null : h("span", { class: "score" }, `${lead.score}/100`)),
    h("div", { class: "small" }, lead.message),
    lead.next_step ? h("div", { class: "small muted" }, `Next: ${lead.next_step}`) : null,
    can("staff")
      ? h("div", { class: "row" }, lead.score === null ? h("button", { type: "button", class: "link", onclick: qualify }, "Score with AI") : null,
          NEXT_LEAD[lead.status] ? h("button", { type: "button", class: "link", onclick: advance }, `→ ${NEXT_LEAD[lead.status]}`) : null)
      : null,
  );
}

// --- reviews --------------------------------------------------------------------------------

async function reviews() {
  const body = await api(`${base()}/reviews?limit=50`);
  $("reviews").replaceChildren(
    ...(body.items.length ? body.items.map(reviewItem) : [h("li", { class: "muted" }, "No reviews yet.")]),
  );
}

function reviewItem(review) {
  const reply = h("textarea", { "aria-label": "Reply", disabled: !can("manager") || review.reply_status === "published" });
  reply.value = review.reply_text || review.reply_draft || "";
  const draft = () => act(() => api(`${base()}/reviews/${review.id}/draft`, { method: "POST" }));
  const publish = () => act(() => api(`${base()}/reviews/${review.id}/publish`, { method: "POST", body: { text: reply.value } }));
  return h(
    "li",
    { class: "ops-item review" },
    h("div", { class: "meta" }, h("span", { class: "stars" }, "★".repeat(review.rating) + "☆".repeat(5 - review.rating)),
      h("span", {}, `${review.reviewer_name || "Anonymous"} · ${review.platform}`)),
    h("div", {}, review.text),
    reply,
    h("div", { class: "row" },
      h("span", { class: "badge" }, review.reply_status),
      can("staff") && review.reply_status !== "published" ? h("button", { type: "button", class: "secondary draft-reply", onclick: draft }, "Draft reply with AI") : null,
      can("manager") && review.reply_status !== "published" ? h("button", { type: "button", class: "primary publish", onclick: publish }, "Publish") : null),
  );
}

// --- budget and audit -----------------------------------------------------------------------

async function budget() {
  if (!can("manager")) {
    $("usage").replaceChildren(h("p", { class: "muted" }, "Managers and owners see the AI budget; owners see the audit trail."));
    $("alerts").replaceChildren();
    $("audit").replaceChildren();
    $("export").hidden = true;
    return;
  }
  const usage = await api(`${base()}/ai/usage`);
  $("usage").replaceChildren(
    h("div", {}, h("span", { class: "muted small" }, "Spent"), h("strong", {}, money(usage.cost_usd))),
    h("div", {}, h("span", { class: "muted small" }, "Budget"), h("strong", {}, money(usage.budget_usd))),
    h("div", {}, h("span", { class: "muted small" }, "AI calls"), h("strong", {}, String(usage.requests))),
    h("div", {}, h("span", { class: "muted small" }, usage.over_budget ? "Over budget: AI off" : "Remaining"), h("strong", {}, money(usage.remaining_usd))),
  );
  $("export").hidden = !can("owner");
  if (!can("owner")) return;
  const [alerts, audit] = await Promise.all([api(`${base()}/alerts`), api(`${base()}/audit?limit=50`)]);
  $("alerts").replaceChildren(...alerts.items.map((a) => h("li", { class: "notice error" }, a.message)));
  $("audit").replaceChildren(
    ...audit.items.map((a) =>
      h("tr", {}, h("td", {}, when(a.created_at)), h("td", {}, a.action), h("td", {}, a.model || "—"),
        h("td", {}, String(a.input_tokens + a.output_tokens)), h("td", {}, money(a.cost_usd)), h("td", {}, a.level ?? "—")),
    ),
  );
}

async function exportAudit() {
  const resp = await fetch(`${base()}/audit/export`, { headers: authHeaders() });
  if (!resp.ok) return say($("notice"), "The export could not be made; try again.");
  const link = h("a", { href: URL.createObjectURL(await resp.blob()), download: `audit-${state.station.slug}.csv` });
  link.click();
  URL.revokeObjectURL(link.href);
}

// --- wiring ---------------------------------------------------------------------------------

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const body = { email: $("auth-email").value.trim(), password: $("auth-password").value };
    tokens.save(await api("/api/v1/auth/login", { method: "POST", body, auth: false }));
    await enter();
  } catch (err) {
    say($("notice"), err instanceof ApiError && err.status === 401 ? "Wrong email or password." : problem(err));
  }
});
$("logout").addEventListener("click", () => {
  tokens.clear();
  state.station = null;
  history.replaceState(null, "", location.pathname);
  show("auth");
});
$("station").addEventListener("change", (event) => openStation(event.target.value));
for (const tab of document.querySelectorAll(".ops-tabs .tab")) {
  tab.addEventListener("click", () => {
    state.tab = tab.dataset.tab;
    render();
  });
}
$("prev-month").addEventListener("click", () => {
  state.month = new Date(state.month.getFullYear(), state.month.getMonth() - 1, 1);
  render();
});
$("next-month").addEventListener("click", () => {
  state.month = new Date(state.month.getFullYear(), state.month.getMonth() + 1, 1);
  render();
});
$("export").addEventListener("click", exportAudit);
$("go-home").addEventListener("click", () => openStation(state.stations[0].id));
window.addEventListener("hashchange", () => {
  const id = new URLSearchParams(location.hash.slice(1)).get("station");
  if (id && tokens.access && id !== state.station?.id) openStation(id);
});
document.addEventListener("unauthorized", () => {
  tokens.clear();
  show("auth");
});

if (tokens.access) enter().catch(() => show("auth"));
else show("auth");
