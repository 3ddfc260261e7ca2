// The console's job views: search with filters and paging, the job detail dialog with retry and
// cancel, job kinds with pause and resume, and the throughput chart.

import { api, ApiError, h, itemsOf, say } from "./api.js";
import { renderChart } from "./admin-chart.js";
import { formatDate, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const PAGE = 25;
const errorText = (err) => (err instanceof ApiError ? err.message : t("error.network"));
export const shortId = (id) => (id ? String(id).slice(0, 8) : "");
let offset = 0;
let onChange = async () => {};

export function duration(job) {
  const start = job.started_at || job.created_at;
  const end = job.finished_at;
  if (!start || !end) return "–";
  const ms = new Date(end) - new Date(start);
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function isoOf(input) {
  return input.value ? new Date(input.value).toISOString() : "";
}

function query() {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  const fields = { status: $("f-status").value, kind: $("f-kind").value, email: $("f-email").value.trim(), q: $("f-id").value.trim() };
  fields.since = isoOf($("f-since"));
  fields.until = isoOf($("f-until"));
  for (const [key, value] of Object.entries(fields)) if (value) params.set(key, value);
  return params;
}

const FOCUSABLE = "button, a, select, input, [tabindex]";
const rowKey = (row) => row.dataset.jobId ?? row.dataset.kind ?? null; // what a row is about

/**
 * Draw ``rows`` into ``tbody`` (the console draws its tables again every few seconds). A keyboard
 * user keeps their place: the row they were on (the same job or kind), or the same button of
 * it, is focused again in the new table, as the old one goes with the old rows.
 */
export function redrawRows(tbody, rows) {
  const focused = document.activeElement;
  const row = focused && tbody.contains(focused) ? focused.closest("tr") : null;
  const index = row ? [...row.querySelectorAll(FOCUSABLE)].indexOf(focused) : -1; // -1: the row itself
  tbody.replaceChildren(...rows);
  if (!row || rowKey(row) === null) return;
  const again = [...tbody.rows].find((r) => rowKey(r) === rowKey(row));
  if (!again) return;
  const target = index < 0 ? again : again.querySelectorAll(FOCUSABLE)[index];
  (target ?? again).focus({ preventScroll: true });
}

/** A row of a job list; clicking it (or Enter on it) opens the detail dialog. */
export function jobRow(job, userCell) {
  const open = () => openJob(job.id);
  return h(
    "tr",
    { dataset: { jobId: job.id }, tabindex: "0", onclick: open, onkeydown: (e) => e.key === "Enter" && open() },
    h("td", { class: "mono", title: job.id }, shortId(job.id)),
    h("td", {}, job.kind),
    h("td", {}, h("span", { class: `badge ${job.status}` }, job.status)),
    h("td", {}, `${job.attempts}/${job.max_attempts}`),
    h("td", {}, duration(job)),
    h("td", {}, formatDate(job.created_at)),
    userCell(job),
    h("td", { class: "small" }, job.error_code || ""),
  );
}

let searches = 0; // job searches so far: one answering after a newer one (another filter) is not shown

export async function refreshJobs(userCell) {
  const mine = ++searches;
  let page;
  try {
    page = await api(`/api/v1/admin/jobs/search?${query()}`);
  } catch (err) {
    if (mine === searches) say($("search-msg"), errorText(err));
    return;
  }
  if (mine !== searches) return;
  say($("search-msg"), "");
  const rows = itemsOf(page);
  redrawRows(
    $("jobs").tBodies[0],
    rows.length ? rows.map((job) => jobRow(job, userCell)) : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("admin.nojobs")))],
  );
  const to = page.offset + rows.length;
  $("page-info").textContent = page.total ? t("console.page", { from: page.offset + 1, to, total: page.total }) : "";
  $("page-prev").disabled = page.offset === 0;
  $("page-next").disabled = to >= page.total;
}

export async function refreshKinds() {
  let kinds;
  try {
    kinds = await api("/api/v1/admin/kinds");
  } catch (err) {
    say($("kinds-msg"), errorText(err));
    return;
  }
  const select = $("f-kind");
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, t("console.any")), ...kinds.map((k) => h("option", { value: k.kind }, k.kind)));
  select.value = chosen;
  redrawRows(
    $("kinds").tBodies[0],
    kinds.map((k) =>
      h(
        "tr",
        { dataset: { kind: k.kind } },
        h("td", { class: "mono" }, k.kind),
        h("td", {}, k.price_stars ? `${k.price_stars} ★` : "–"),
        h("td", {}, h("div", { class: "counts" }, ...Object.entries(k.by_status).map(([s, n]) => h("span", { class: `badge ${s}` }, `${s} ${n}`)))),
        h("td", {}, h("span", { class: `badge ${k.paused ? "paused" : "running"}` }, t(k.paused ? "console.paused" : "console.running"))),
        h("td", {}, h("button", { type: "button", class: k.paused ? "secondary" : "danger", onclick: () => setPaused(k.kind, !k.paused) }, t(k.paused ? "console.resume" : "console.pause"))),
      ),
    ),
  );
}

async function setPaused(kind, paused) {
  try {
    await api(`/api/v1/admin/kinds/${encodeURIComponent(kind)}/${paused ? "pause" : "resume"}`, { method: "POST" });
    say($("kinds-msg"), t(paused ? "console.paused.msg" : "console.resumed.msg", { kind }), "ok");
  } catch (err) {
    say($("kinds-msg"), errorText(err));
  }
  await refreshKinds();
}

export async function refreshChart() {
  try {
    const body = await api(`/api/v1/admin/throughput?minutes=${$("chart-window").value}`);
    renderChart($("chart"), body, t("console.chart.empty"));
  } catch {
    // The chart is a nicety: the tables around it carry the same facts.
  }
}

function definition(rows) {
  return h("dl", {}, ...rows.filter(([, v]) => v != null && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function table(head, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h("table", {}, h("thead", {}, h("tr", {}, ...head.map((c) => h("th", {}, c)))), h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", { class: "small" }, c)))))),
  );
}

async function act(job, action) {
  const id = shortId(job.id);
  const confirmKey = { retry: "console.confirm.retry", free: "console.confirm.retry.free", cancel: "console.confirm.cancel" }[action];
  if (!window.confirm(t(confirmKey, { id }))) return;
  const path = action === "cancel" ? "cancel" : `retry${action === "free" ? "?free=true" : ""}`;
  try {
    const done = await api(`/api/v1/admin/jobs/${job.id}/${path}`, { method: "POST" });
    const text = action === "cancel" ? t("console.done.cancel", { id, detail: done.detail }) : t("console.done.retry", { id });
    await openJob(job.id);
    say($("detail-msg"), text, "ok");
    await onChange();
  } catch (err) {
    say($("detail-msg"), errorText(err));
  }
}

export async function openJob(jobId) {
  const dialog = $("detail");
  say($("detail-msg"), "");
  let job;
  try {
    job = await api(`/api/v1/admin/jobs/${jobId}`);
  } catch (err) {
    $("detail-body").replaceChildren();
    say($("detail-msg"), errorText(err));
    if (!dialog.open) dialog.showModal();
    return;
  }
  $("detail-title").textContent = t("console.detail", { id: shortId(job.id) });
  const actions = [];
  if (job.actions.includes("retry")) {
    actions.push(h("button", { type: "button", class: "primary", onclick: () => act(job, "retry") }, t("console.retry")));
    if (job.price_stars) actions.push(h("button", { type: "button", class: "secondary", onclick: () => act(job, "free") }, t("console.retry.free")));
  }
  if (job.actions.includes("cancel")) actions.push(h("button", { type: "button", class: "danger", onclick: () => act(job, "cancel") }, t("console.cancel")));
  $("detail-body").replaceChildren(
    definition([
      [t("col.id"), h("span", { class: "mono" }, job.id)],
      [t("col.kind"), job.kind],
      [t("col.status"), h("span", { class: `badge ${job.status}` }, job.status)],
      [t("console.owner"), job.email || job.user_id],
      [t("col.attempts"), `${job.attempts}/${job.max_attempts}`],
      [t("col.created"), formatDate(job.created_at)],
      [t("col.duration"), duration(job)],
      [t("col.error"), [job.error_code, job.last_error].filter(Boolean).join(": ")],
      [t("console.worker"), job.worker_id],
      [t("console.trace"), job.trace_id && h("span", { class: "mono" }, job.trace_id)],
      [t("col.result"), job.result_keys.join(", ")],
    ]),
    h("h3", {}, t("console.payload")),
    h("pre", {}, JSON.stringify(job.payload, null, 2)),
    ...(job.usage ? [h("h3", {}, t("console.usage")), h("pre", {}, JSON.stringify(job.usage, null, 2))] : []),
    h("h3", {}, t("console.attempts")),
    table(
      [t("col.number"), t("col.worker"), t("col.when"), t("col.duration"), t("console.usage.cost"), t("col.error")],
      // Each attempt's own model cost: a failed attempt's calls are paid for too (the job's usage sums them).
      job.attempts_list.map((a) => [a.number, a.worker_id || "", formatDate(a.started_at), a.duration_ms == null ? "–" : `${a.duration_ms} ms`, a.usage ? `$${a.usage.cost_usd}` : "–", a.success ? "✓" : [a.error_code, a.error].filter(Boolean).join(": ")]),
    ),
    h("h3", {}, t("console.events")),
    table(
      ["seq", t("col.type"), t("col.when")],
      job.events.map((e) => [e.seq, e.type, formatDate(e.created_at)]),
    ),
    h("div", { class: "actions" }, ...actions),
  );
  if (!dialog.open) dialog.showModal();
}

/** Wire the search form, pager, dialog and chart window; ``changed`` runs after a retry or cancel. */
export function initJobs(userCell, changed) {
  onChange = changed;
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    refreshJobs(userCell);
  });
  $("search-form").addEventListener("reset", () => {
    offset = 0;
    setTimeout(() => refreshJobs(userCell));
  });
  $("page-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    refreshJobs(userCell);
  });
  $("page-next").addEventListener("click", () => {
    offset += PAGE;
    refreshJobs(userCell);
  });
  $("detail-close").addEventListener("click", () => $("detail").close());
  $("chart-window").addEventListener("change", refreshChart);
}
