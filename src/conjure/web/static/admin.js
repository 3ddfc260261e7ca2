// The operator console: queue depth and throughput, job kinds (pause/resume), job search with a
// detail view (retry, cancel), the DLQ a page at a time with re-drive and purge, flagged inviters,
// a user by email.

import "./admin-i18n.js";
import { statTile } from "./admin-chart.js";
import { initJobs, openJob, redrawRows, refreshChart, refreshJobs, refreshKinds, shortId } from "./admin-jobs.js";
import { initUsage, refreshUsage } from "./admin-usage.js";
import { api, ApiError, h, itemsOf, say, tokens } from "./api.js";
import { applyI18n, formatDate, has, isolated, t, toggleLang } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
const DLQ_PAGE = 25;
let timer = null;
let dlqOffset = 0;

const notice = (text, kind = "error") => say($("notice"), text, kind);
const errorText = (err) => (err instanceof ApiError ? err.message : t("error.network"));

function humanize(key) {
  const text = key.replace(/[_.]/g, " ").replace(/\bdlq\b/gi, "DLQ");
  return text.replace(/^\w/, (c) => c.toUpperCase());
}

/** Every number in the jobs overview (queue depth, in-flight, broker counters), flattened to tiles. */
function numbersOf(body, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(body || {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "number") out.push([name, value]);
    else if (value && typeof value === "object" && !Array.isArray(value)) out.push(...numbersOf(value, name));
  }
  return out;
}

function errorOf(job) {
  if (job.error_code || job.last_error) return [job.error_code, job.last_error].filter(Boolean).join(": ");
  const error = job.error;
  if (!error) return "";
  if (typeof error === "string") return error;
  return [error.code, error.message].filter(Boolean).join(": ");
}

function userCell(userId, label) {
  if (!userId) return h("td", {}, "");
  const open = (event) => {
    event.stopPropagation(); // the row itself opens the job
    lookupWallet(userId);
  };
  return h("td", {}, h("button", { type: "button", class: "link mono", title: userId, onclick: open }, label || shortId(userId)));
}

const jobUserCell = (job) => userCell(job.user_id, job.email);

function renderStats(overview) {
  const stats = overview.stats || {};
  const byStatus = stats.by_status || {};
  // Queue depth and in-flight first (the jobs table's view), then every other counter as sent.
  const tiles = [
    statTile("queue_depth", byStatus.queued ?? 0, t("admin.depth")),
    statTile("in_flight", byStatus.processing ?? 0, t("admin.inflight")),
  ];
  for (const [name, value] of numbersOf(stats)) {
    if (name === "by_status.queued" || name === "by_status.processing") continue;
    // Known counters have words in both languages; a new one shows under its own name until it does.
    const key = `admin.stat.${name}`;
    tiles.push(statTile(name, value, has(key) ? t(key) : humanize(name.replace(/^by_status\./, ""))));
  }
  $("stats").replaceChildren(...tiles);
}

const dlqPage = () => api(`/api/v1/admin/jobs/dlq?limit=${DLQ_PAGE}&offset=${dlqOffset}`);

async function pageDlq(step) {
  dlqOffset = Math.max(0, dlqOffset + step * DLQ_PAGE);
  try {
    renderDlq(await dlqPage());
  } catch (err) {
    say($("dlq-msg"), errorText(err));
  }
}

/** One page of the DLQ (a Page: items, total, limit, offset), the latest to arrive first. */
function renderDlq(page) {
  const jobs = itemsOf(page);
  const total = page.total ?? jobs.length;
  if (!jobs.length && dlqOffset > 0 && total > 0) {
    // Re-drives or a purge emptied the page on screen: show the last page that still has jobs.
    dlqOffset = Math.floor((total - 1) / DLQ_PAGE) * DLQ_PAGE;
    pageDlq(0);
    return;
  }
  if (!jobs.length) dlqOffset = 0;
  const from = jobs.length ? (page.offset ?? 0) : 0;
  $("dlq-pager").hidden = !total; // the DLQ is usually empty: no pager under "The DLQ is empty."
  $("dlq-page-info").textContent = total ? t("console.page", { from: from + 1, to: from + jobs.length, total }) : "";
  $("dlq-prev").disabled = from === 0;
  $("dlq-next").disabled = from + jobs.length >= total;
  const tbody = $("dlq").tBodies[0];
  if (!jobs.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("admin.dlq.empty"))));
    return;
  }
  redrawRows(
    tbody,
    jobs.map((job) => {
      const id = job.id ?? job.job_id;
      return h(
        "tr",
        { dataset: { jobId: id } },
        h("td", {}, h("button", { type: "button", class: "link mono", title: id, onclick: () => openJob(id) }, shortId(id))),
        h("td", {}, job.kind ?? ""),
        h("td", {}, job.attempts ?? ""),
        h("td", { class: "small" }, errorOf(job)),
        h("td", {}, formatDate(job.created_at)),
        h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => redrive(id) }, t("admin.redrive"))),
      );
    }),
  );
}

/** Inviters whose invites came in a burst or reached a reward cap (a Page, newest flag first). */
function renderFlagged(body) {
  const rows = itemsOf(body);
  const tbody = $("flagged").tBodies[0];
  if (!rows.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("admin.invites.empty"))));
    return;
  }
  tbody.replaceChildren(
    ...rows.map((row) =>
      h(
        "tr",
        { dataset: { inviterId: row.inviter_id } },
        userCell(row.inviter_id),
        h("td", {}, row.email ?? ""),
        h("td", {}, row.flagged_invites ?? ""),
        h("td", {}, row.total_invites ?? ""),
        h("td", {}, (row.reasons || []).map((r) => h("span", { class: "badge failed" }, humanize(r)))),
        h("td", {}, formatDate(row.last_flagged_at)),
      ),
    ),
  );
}

async function refresh() {
  const [overview, dlq, flagged] = await Promise.allSettled([
    api("/api/v1/admin/jobs?limit=1"),
    dlqPage(),
    api("/api/v1/admin/invites/flagged?limit=50"),
  ]);
  for (const result of [overview, dlq, flagged]) {
    if (result.status === "rejected") {
      notice(errorText(result.reason));
      if (result.reason.status === 403 || result.reason.status === 401) {
        $("console").hidden = true;
        stopAutoRefresh();
        return;
      }
    }
  }
  notice("");
  $("console").hidden = false;
  if (overview.status === "fulfilled") renderStats(overview.value);
  if (dlq.status === "fulfilled") renderDlq(dlq.value);
  if (flagged.status === "fulfilled") renderFlagged(flagged.value);
  await Promise.all([refreshJobs(jobUserCell), refreshKinds(), refreshChart(), refreshUsage()]);
}

async function redriveAll() {
  if (!window.confirm(t("console.confirm.redrive.all"))) return;
  try {
    const done = await api("/api/v1/admin/jobs/dlq/redrive", { method: "POST" });
    say($("dlq-msg"), t("console.redriven.all", { n: done.redriven, short: done.short_of_stars.length }), "ok");
  } catch (err) {
    say($("dlq-msg"), errorText(err));
  }
  await refresh();
}

async function purge() {
  // Purging cannot be undone from here: ask for the word, not just a click.
  if ((window.prompt(t("console.confirm.purge")) || "").trim().toUpperCase() !== "PURGE") return;
  try {
    const done = await api("/api/v1/admin/jobs/dlq", { method: "DELETE" });
    say($("dlq-msg"), t("console.purged", { n: done.purged }), "ok");
  } catch (err) {
    say($("dlq-msg"), errorText(err));
  }
  await refresh();
}

async function redrive(id) {
  try {
    await api(`/api/v1/admin/jobs/${id}/redrive`, { method: "POST" });
    say($("dlq-msg"), t("admin.redriven", { id: shortId(id) }), "ok");
  } catch (err) {
    say($("dlq-msg"), errorText(err));
  }
  await refresh();
}

async function lookupWallet(userId) {
  let id = (userId ?? $("wallet-user").value).trim();
  $("wallet-user").value = id;
  if (!id) return;
  say($("wallet-msg"), "");
  try {
    if (id.includes("@")) {
      // By email: the account's id, then its wallet; its jobs fill the search below.
      const found = await api(`/api/v1/admin/users?email=${encodeURIComponent(id)}`);
      id = found.id;
      $("f-email").value = found.email || "";
      await refreshJobs(jobUserCell);
    }
    const wallet = await api(`/api/v1/admin/users/${encodeURIComponent(id)}/wallet`);
    const balances = numbersOf(wallet.wallet ?? wallet);
    $("wallet-balances").replaceChildren(
      ...(wallet.email ? [statTile("email", wallet.email, t("auth.email"))] : []),
      ...balances.map(([name, value]) => statTile(name, value, humanize(name))),
    );
    let rows = itemsOf(wallet.transactions ?? wallet.ledger ?? []);
    if (!rows.length && !(wallet.transactions || wallet.ledger)) {
      try {
        rows = itemsOf(await api(`/api/v1/admin/users/${encodeURIComponent(id)}/wallet/transactions`));
      } catch {
        rows = [];
      }
    }
    $("ledger").tBodies[0].replaceChildren(
      ...rows.map((row) =>
        h(
          "tr",
          {},
          h("td", {}, formatDate(row.created_at)),
          h("td", {}, row.transaction_type ?? row.type ?? ""),
          h("td", {}, row.currency ?? ""),
          h("td", { class: row.amount < 0 ? "neg" : "" }, row.amount ?? ""),
          h("td", {}, row.held_change ?? ""),
        ),
      ),
    );
    $("wallet-result").hidden = false;
  } catch (err) {
    $("wallet-result").hidden = true;
    say($("wallet-msg"), errorText(err));
  }
}

function startAutoRefresh() {
  stopAutoRefresh();
  if ($("autorefresh").checked) timer = setInterval(refresh, REFRESH_MS);
}

function stopAutoRefresh() {
  if (timer) clearInterval(timer);
  timer = null;
}

async function showConsole() {
  $("login").hidden = true;
  $("logout").hidden = false;
  try {
    const me = await api("/api/v1/me");
    $("whoami").replaceChildren(isolated(me.email || me.name || ""));
    $("whoami").hidden = false;
  } catch (err) {
    if (err.status === 401) {
      tokens.clear();
      showLogin();
      notice(errorText(err));
      return;
    }
  }
  await refresh();
  startAutoRefresh();
}

function showLogin() {
  stopAutoRefresh();
  $("console").hidden = true;
  $("logout").hidden = true;
  $("whoami").hidden = true;
  $("login").hidden = false;
}

async function submitLogin(event) {
  event.preventDefault();
  notice("");
  try {
    const session = await api("/api/v1/auth/login", {
      method: "POST",
      auth: false,
      body: { email: $("login-email").value.trim(), password: $("login-password").value },
    });
    tokens.save(session);
    await showConsole();
  } catch (err) {
    notice(errorText(err));
  }
}

function boot() {
  applyI18n();
  $("lang-toggle").addEventListener("click", toggleLang);
  $("logout").addEventListener("click", () => {
    tokens.clear();
    notice("");
    showLogin();
  });
  $("login-form").addEventListener("submit", submitLogin);
  $("refresh").addEventListener("click", refresh);
  $("dlq-redrive-all").addEventListener("click", redriveAll);
  $("dlq-purge").addEventListener("click", purge);
  $("dlq-prev").addEventListener("click", () => pageDlq(-1));
  $("dlq-next").addEventListener("click", () => pageDlq(1));
  initJobs(jobUserCell, refresh);
  initUsage();
  $("autorefresh").addEventListener("change", startAutoRefresh);
  $("wallet-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookupWallet();
  });
  document.addEventListener("langchange", refresh);
  if (tokens.access) showConsole();
  else showLogin();
}

boot();
