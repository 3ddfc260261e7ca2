// The ops console: one station at a time (members see only their stations), its inbox with AI drafts
// to approve, edit or reject and conversations to read and answer, bookings (a form for new ones,
// status changes, a month calendar), the leads board, reviews, budget and audit.

import { ApiError, api, authHeaders, h, newIdempotencyKey, say, tokens } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const RANK = { viewer: 0, staff: 1, manager: 2, owner: 3 };
const LEAD_COLUMNS = ["new", "contacted", "qualified", "won", "lost"];
const NEXT_LEAD = { new: "contacted", contacted: "qualified", qualified: "won" };
const BOOKING_ACTIONS = {
  pending: [["confirmed", "Confirm"], ["cancelled", "Cancel"]],
  confirmed: [["completed", "Completed"], ["no_show", "No-show"], ["cancelled", "Cancel"]],
};
const state = { stations: [], station: null, tab: "inbox", month: new Date(), thread: null, leadsShown: {}, leadColumns: {} };

const can = (role) => state.station && RANK[state.station.role] >= RANK[role];
const base = () => `/api/v1/ops/stations/${state.station.id}`;
const when = (iso) => new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
const money = (usd) => `$${Number(usd).toFixed(Number(usd) > 0 && Number(usd) < 1 ? 4 : 2)}`;

function problem(err) {
  if (err instanceof ApiError && err.status === 404) return "That station was not found, or you are not one of its members.";
  if (err instanceof ApiError && err.status === 403) return "Your role in this station does not allow that.";
  if (err instanceof ApiError && err.status === 0) return "The server cannot be reached; check your connection.";
  if (err instanceof ApiError && err.code === "text_unreadable") return "A stored text here cannot be read: it could not be decrypted.";
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
  state.thread = null;
  state.leadsShown = {};
  history.replaceState(null, "", `#station=${id}`);
  $("station").value = id;
  $("role").textContent = state.station.role;
  $("role").hidden = false;
  say($("notice"), "");
  show("app");
  await render();
}

// Draws of a tab so far. A tab's reads may answer after another station or tab was opened (or
// the same one drawn again): each tab draws only while its draw is the latest (`stale()` false),
// so one station's items never show (with their buttons) in another's console.
let draws = 0;
const drawing = () => {
  const mine = draws;
  return () => mine !== draws;
};

async function render() {
  for (const tab of document.querySelectorAll(".ops-tabs .tab")) tab.classList.toggle("active", tab.dataset.tab === state.tab);
  for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== `tab-${state.tab}`;
  draws += 1;
  const stale = drawing();
  try {
    await { inbox, bookings, leads, reviews, budget }[state.tab](stale);
  } catch (err) {
    if (!stale()) say($("notice"), problem(err));
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

async function inbox(stale) {
  const [drafts, threads] = await Promise.all([
    api(`${base()}/drafts?status=pending&limit=50`),
    api(`${base()}/inbox?limit=50`),
  ]);
  if (stale()) return;
  const unread = threads.items.reduce((n, t) => n + t.unread, 0);
  $("unread").textContent = unread ? String(unread) : "";
  $("drafts").replaceChildren(
    ...(drafts.items.length ? drafts.items.map(draftItem) : [h("li", { class: "muted" }, "Nothing waiting for approval.")]),
  );
  $("threads").replaceChildren(
    ...(threads.items.length ? threads.items.map(threadItem) : [h("li", { class: "muted" }, "No conversations yet.")]),
  );
  await showThread();
}

// A draft whose stored text does not open (the API lists it with `text: null`; approving it as is
// answers 409 text_unreadable) is not shown as an empty reply to approve: the item says it cannot
// be read and offers a reply written by hand, which the API sends in its place (recorded as edited).
const UNREADABLE_DRAFT = "This AI draft cannot be read: its stored text could not be decrypted. Write the reply yourself below, or reject the draft.";
const UNREADABLE_MESSAGE = "The customer's message cannot be read: it could not be decrypted.";

function draftItem(draft) {
  const unreadable = draft.text === null;
  const text = h("textarea", {
    "aria-label": unreadable ? "Your reply" : "Reply draft",
    placeholder: unreadable ? "Write your reply to the customer…" : null,
    maxlength: 2000,
    disabled: !can("staff"),
  });
  text.value = draft.text ?? "";
  const error = h("p", { class: "notice error", role: "alert", hidden: true });
  const approve = async () => {
    const reply = text.value.trim();
    if (!reply) return say(error, unreadable ? "Write your reply first." : "The reply is empty: write one, or reject the draft.");
    const body = reply !== draft.text ? { text: reply } : {};
    try {
      await api(`${base()}/drafts/${draft.id}/approve`, { method: "POST", body });
      say($("notice"), "");
    } catch (err) {
      // Readable when listed, damaged since: nothing was sent; drawn again, it offers the reply box.
      const unopened = err instanceof ApiError && err.code === "text_unreadable";
      say($("notice"), unopened ? `Nothing was sent. ${UNREADABLE_DRAFT}` : problem(err));
    }
    await render();
  };
  const reject = () => act(() => api(`${base()}/drafts/${draft.id}/reject`, { method: "POST" }));
  // One decision per draft: a double click (or a click while one is on its way) is sent once, not
  // a second time to be refused as already decided once the first reply went out.
  let deciding = false;
  const decide = (work) => async () => {
    if (deciding) return;
    deciding = true;
    try {
      await work();
    } finally {
      deciding = false;
    }
  };
  const send = unreadable ? "Send my reply" : "Approve & send";
  return h(
    "li",
    { class: `ops-item draft${unreadable ? " unreadable" : ""}`, dataset: { id: draft.id } },
    h("div", { class: "meta" }, h("span", { class: `level level-${draft.level}` }, `Level ${draft.level}`), h("span", {}, when(draft.created_at))),
    draft.message_text === null
      ? h("p", { class: "muted small unreadable-message" }, UNREADABLE_MESSAGE)
      : h("blockquote", {}, draft.message_text),
    unreadable ? h("p", { class: "notice info unreadable-draft" }, UNREADABLE_DRAFT) : null,
    text,
    error,
    can("staff")
      ? h("div", { class: "row" }, h("button", { type: "button", class: "primary approve", onclick: decide(approve) }, send),
          h("button", { type: "button", class: "secondary reject", onclick: decide(reject) }, "Reject"))
      : h("p", { class: "muted small" }, "Viewers cannot send replies."),
  );
}

function threadItem(thread) {
  const markRead = () => act(() => api(`${base()}/inbox/${thread.id}/read`, { method: "POST" }));
  const open = async () => {
    state.thread = thread.id;
    await showThread();
  };
  return h(
    "li",
    { class: `ops-item thread${thread.unread ? " unread" : ""}`, dataset: { id: thread.id } },
    h("div", { class: "meta" }, h("span", {}, thread.customer_name || "Customer"), h("span", {}, when(thread.last_message_at))),
    h("div", {}, thread.last_text || ""),
    thread.level === 3 ? h("span", { class: "level level-3" }, "Needs a person") : null,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary open-thread", onclick: open }, "Open"),
      thread.unread && can("staff") ? h("button", { type: "button", class: "link", onclick: markRead }, `Mark ${thread.unread} read`) : null),
  );
}

let threadReads = 0; // reads of a conversation so far: only the latest one is drawn

// One conversation, oldest message first, with a reply box for staff and above.
async function showThread() {
  if (!state.thread) {
    $("thread").hidden = true;
    return;
  }
  const id = state.thread;
  const read = ++threadReads;
  // Another conversation opened (or this one closed, or read again) while this read was on its
  // way: drawn, its messages would sit above the reply box of the one now open.
  const stale = () => read !== threadReads || state.thread !== id;
  let thread;
  try {
    thread = await api(`${base()}/inbox/${id}`);
  } catch (err) {
    if (stale()) return;
    state.thread = null;
    $("thread").hidden = true;
    return say($("notice"), problem(err));
  }
  if (stale()) return;
  $("thread-title").textContent = thread.customer_name || "Customer";
  $("messages").replaceChildren(
    ...thread.messages.map((m) =>
      h("li", { class: m.direction === "out" ? "out" : "in" }, m.text,
        h("span", { class: "meta" }, `${m.channel.toUpperCase()} · ${when(m.received_at)}`)),
    ),
  );
  const last = [...thread.messages].reverse().find((m) => m.direction === "in");
  $("reply-channel").textContent = last ? `Sent by ${last.channel.toUpperCase()}` : "";
  $("reply-form").hidden = !can("staff");
  $("thread").hidden = false;
  $("messages").lastElementChild?.scrollIntoView({ block: "nearest" });
  $("thread").scrollIntoView({ block: "nearest" });
}

// The reply being sent and its Idempotency-Key: sending the same text again after a failure (a
// dropped connection) reuses the key, so the customer gets the message once.
let pendingReply = null;

async function sendReply(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return say($("notice"), "Write a reply first.");
  $("send-reply").disabled = true;
  if (pendingReply?.text !== text || pendingReply?.thread !== state.thread) {
    pendingReply = { text, thread: state.thread, key: newIdempotencyKey() };
  }
  try {
    await api(`${base()}/inbox/${state.thread}/reply`, {
      method: "POST",
      body: { text },
      headers: { "Idempotency-Key": pendingReply.key },
    });
    pendingReply = null;
    $("reply-text").value = "";
    say($("notice"), "");
  } catch (err) {
    say($("notice"), problem(err));
  } finally {
    $("send-reply").disabled = false;
  }
  await render();
}

// --- bookings -------------------------------------------------------------------------------

const isoDay = (day) => `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;

/** The six weeks the calendar draws for the month on screen (from the Sunday before the 1st). */
function calendarSpan() {
  const first = new Date(state.month.getFullYear(), state.month.getMonth(), 1);
  const start = new Date(first);
  start.setDate(1 - first.getDay());
  const end = new Date(start);
  end.setDate(start.getDate() + 41);
  return { start, end };
}

async function bookings(stale) {
  // The month on screen only: a station's whole history is more than one page, oldest first.
  const { start, end } = calendarSpan();
  const span = `date_from=${isoDay(start)}&date_to=${isoDay(end)}`;
  const search = $("nb-search").value.trim();
  const [body, people] = await Promise.all([
    api(`${base()}/bookings?${span}&limit=100&sort=event_date`),
    can("staff") ? customerPage(search) : Promise.resolve({ items: [], total: 0 }),
  ]);
  if (stale()) return;
  $("bookings").replaceChildren(...body.items.map(bookingRow));
  calendar(body.items);
  $("new-booking").hidden = !can("staff");
  fillCustomers(people, search);
}

// The customer list of the new-booking form: the newest 100, or those the search finds (a part of
// the name, or a whole phone or email: the server finds names by their blind index, the others by hash).
const CUSTOMERS_SHOWN = 100;
let customerSearches = 0;

function customerPage(search) {
  const q = search ? `&q=${encodeURIComponent(search)}` : "";
  return api(`${base()}/customers?limit=${CUSTOMERS_SHOWN}${q}`);
}

async function searchCustomers() {
  const mine = ++customerSearches;
  const search = $("nb-search").value.trim();
  try {
    const people = await customerPage(search);
    if (mine === customerSearches) fillCustomers(people, search); // a later search's answer wins
  } catch (error) {
    say($("notice"), error.message || String(error));
  }
}

function fillCustomers(people, search) {
  const chosen = $("nb-customer").value;
  $("nb-customer").replaceChildren(
    h("option", { value: "" }, "Choose a customer…"),
    ...people.items.filter((c) => !c.erased).map((c) => h("option", { value: c.id }, c.name || c.phone || c.email || "Customer")),
    h("option", { value: "new" }, "New customer…"),
  );
  $("nb-customer").value = chosen;
  if ($("nb-customer").value !== chosen) $("nb-customer").value = ""; // no longer listed
  $("nb-new-customer").hidden = $("nb-customer").value !== "new";
  const total = people.total ?? people.items.length;
  const note = search && total === 0
    ? `No customer matches “${search}”.`
    : total > people.items.length
      ? `Showing ${people.items.length} of ${total}: search to find the others.`
      : "";
  $("nb-found").textContent = note;
  $("nb-found").hidden = !note;
}

function bookingRow(b) {
  const change = (status, label) => {
    const go = () => {
      if (status === "cancelled" && !confirm("Cancel this booking? A deposit is refunded by the station's policy.")) return;
      act(() => api(`${base()}/bookings/${b.id}/status`, { method: "POST", body: { status } }));
    };
    return h("button", { type: "button", class: "link", dataset: { status }, onclick: go }, label);
  };
  const actions = can("staff") ? (BOOKING_ACTIONS[b.status] || []).map(([status, label]) => change(status, label)) : [];
  return h("tr", { dataset: { id: b.id } }, h("td", {}, b.event_date), h("td", {}, b.event_time), h("td", {}, String(b.guests)),
    h("td", { class: "pkg" }, b.package), h("td", {}, h("span", { class: "badge" }, b.status)), h("td", {}, h("div", { class: "row" }, ...actions)));
}

// Why the server refused a booking, said in the form (next to the button, where a phone's screen is).
const BOOKING_PROBLEMS = {
  slot_full: "That slot is full; choose another time.",
  booking_in_past: "That date and time have already passed; choose a later one.",
};

// A new booking, for a known customer or one entered here (created first, PII stored encrypted).
async function createBooking(event) {
  event.preventDefault();
  const form = $("booking-form");
  say($("nb-error"), "");
  if (!form.reportValidity()) return;
  let customer = $("nb-customer").value;
  if (!customer) return say($("nb-error"), "Choose a customer, or add a new one.");
  if (customer === "new" && !$("nb-name").value.trim()) return say($("nb-error"), "The new customer needs a name.");
  $("create-booking").disabled = true;
  try {
    if (customer === "new") {
      const person = { name: $("nb-name").value.trim() };
      if ($("nb-phone").value.trim()) person.phone = $("nb-phone").value.trim();
      if ($("nb-email").value.trim()) person.email = $("nb-email").value.trim();
      customer = (await api(`${base()}/customers`, { method: "POST", body: person })).id;
      $("nb-customer").append(h("option", { value: customer }, person.name));
      $("nb-customer").value = customer;
    }
    const booking = {
      customer_id: customer,
      event_date: $("nb-date").value,
      event_time: $("nb-time").value.slice(0, 5),
      guests: Number($("nb-guests").value),
      address: $("nb-address").value.trim(),
      package: $("nb-package").value,
    };
    if ($("nb-notes").value.trim()) booking.notes = $("nb-notes").value.trim();
    await api(`${base()}/bookings`, { method: "POST", body: booking });
    for (const id of ["nb-name", "nb-phone", "nb-email", "nb-address", "nb-notes"]) $(id).value = "";
    state.month = new Date(`${booking.event_date}T00:00:00`);
    $("new-booking").open = false;
    say($("notice"), "");
  } catch (err) {
    say($("nb-error"), (err instanceof ApiError && BOOKING_PROBLEMS[err.code]) || problem(err));
  } finally {
    $("create-booking").disabled = false;
  }
  await render();
}

function calendar(items) {
  const first = new Date(state.month.getFullYear(), state.month.getMonth(), 1);
  const { start } = calendarSpan();
  $("calendar-title").textContent = first.toLocaleDateString("en-US", { month: "long", year: "numeric" });
  const byDay = new Map();
  for (const b of items) byDay.set(b.event_date, [...(byDay.get(b.event_date) || []), b]);
  const cells = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].map((d) => h("div", { class: "dow" }, d));
  for (let i = 0; i < 42; i++) {
    const day = new Date(start);
    day.setDate(start.getDate() + i);
    const key = isoDay(day);
    const pills = (byDay.get(key) || []).filter((b) => b.status !== "cancelled").map((b) =>
      h("span", { class: "pill", title: `${b.event_time} · ${b.guests} guests` }, b.event_time, h("span", { class: "guests" }, ` · ${b.guests}`)));
    cells.push(h("div", { class: `day${day.getMonth() === first.getMonth() ? "" : " other"}`, dataset: { date: key } }, String(day.getDate()), ...pills));
  }
  $("calendar").replaceChildren(...cells);
}

// --- leads ----------------------------------------------------------------------------------

// Each column of the board is a list of its own: the newest LEADS_PAGE leads of its status, its
// whole count in the heading, and "Show more" for the next page while any are left. How many a
// column shows is kept (state.leadsShown) when the board is drawn again after a change.
const LEADS_PAGE = 20;

/** `want` leads of `status` from `offset` on, newest first (pages of at most 100), and the total. */
async function leadPages(status, want, offset = 0) {
  const items = [];
  let total = 0;
  while (items.length < want) {
    const limit = Math.min(100, want - items.length);
    const body = await api(`${base()}/leads?status=${status}&sort=-created_at&limit=${limit}&offset=${offset + items.length}`);
    items.push(...body.items);
    total = body.total;
    if (body.items.length < limit) break;
  }
  return { items, total };
}

async function leads(stale) {
  const columns = await Promise.all(LEAD_COLUMNS.map((status) => leadPages(status, state.leadsShown[status] || LEADS_PAGE)));
  if (stale()) return;
  state.leadColumns = Object.fromEntries(LEAD_COLUMNS.map((status, i) => [status, columns[i]]));
  drawBoard();
}

async function moreLeads(status) {
  const column = state.leadColumns[status];
  try {
    const next = await leadPages(status, LEADS_PAGE, column.items.length);
    // A lead that came in meanwhile pushes older ones down a place: skip those already shown.
    const shown = new Set(column.items.map((l) => l.id));
    column.items.push(...next.items.filter((l) => !shown.has(l.id)));
    column.total = next.total;
    state.leadsShown[status] = column.items.length;
    drawBoard();
  } catch (err) {
    say($("notice"), problem(err));
  }
}

function drawBoard() {
  const columns = LEAD_COLUMNS.map((status) => {
    const { items, total } = state.leadColumns[status];
    const more = items.length < total
      ? h("button", { type: "button", class: "secondary more", onclick: () => moreLeads(status) }, "Show more")
      : null;
    return h("div", { class: "column", dataset: { status } }, h("h3", {}, `${status} (${total})`), ...items.map(leadCard), more);
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

async function reviews(stale) {
  const body = await api(`${base()}/reviews?limit=50`);
  if (stale()) return;
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

async function budget(stale) {
  if (!can("manager")) {
    $("usage").replaceChildren(h("p", { class: "muted" }, "Managers and owners see the AI budget; owners see the audit trail."));
    $("alerts").replaceChildren();
    $("audit").replaceChildren();
    $("export").hidden = true;
    return;
  }
  const usage = await api(`${base()}/ai/usage`);
  if (stale()) return;
  $("usage").replaceChildren(
    h("div", {}, h("span", { class: "muted small" }, "Spent"), h("strong", {}, money(usage.cost_usd))),
    h("div", {}, h("span", { class: "muted small" }, "Budget"), h("strong", {}, money(usage.budget_usd))),
    h("div", {}, h("span", { class: "muted small" }, "AI calls"), h("strong", {}, String(usage.requests))),
    h("div", {}, h("span", { class: "muted small" }, usage.over_budget ? "Over budget: AI off" : "Remaining"), h("strong", {}, money(usage.remaining_usd))),
  );
  $("export").hidden = !can("owner");
  if (!can("owner")) return;
  const [alerts, audit] = await Promise.all([api(`${base()}/alerts`), api(`${base()}/audit?limit=50`)]);
  if (stale()) return;
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
$("reply-form").addEventListener("submit", sendReply);
$("close-thread").addEventListener("click", () => {
  state.thread = null;
  $("thread").hidden = true;
});
$("booking-form").addEventListener("submit", createBooking);
let searchTimer = null;
$("nb-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(searchCustomers, 250); // once the typing pauses
});
$("nb-search").addEventListener("keydown", (event) => {
  if (event.key === "Enter") event.preventDefault(); // searching, not sending the booking
});
$("nb-customer").addEventListener("change", () => {
  $("nb-new-customer").hidden = $("nb-customer").value !== "new";
});
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
