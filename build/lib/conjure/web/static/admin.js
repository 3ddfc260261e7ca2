// The operator console: queue depth, recent jobs, the DLQ with re-drive, flagged inviters, a user's wallet and ledger.

import { api, ApiError, h, itemsOf, say, tokens } from "./api.js";
import { applyI18n, formatDate, t, toggleLang } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
let timer = null;

const notice = (text, kind = "error") => say($("notice"), text, kind);
const errorText = (err) => (err instanceof ApiError ? err.message : t("error.network"));
const shortId = (id) => (id ? String(id).slice(0, 8) : "");

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

function duration(job) {
  let ms = job.duration_ms ?? job.processing_time_ms;
  const start = job.started_at || job.created_at;
  if (ms == null && start) {
    // Queue wait included: from acceptance to the final status, what the user waited.
    const end = job.finished_at || job.completed_at;
    if (end) ms = new Date(end) - new Date(start);
  }
  if (ms == null || Number.isNaN(ms)) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function errorOf(job) {
  if (job.error_code || job.last_error) return [job.error_code, job.last_error].filter(Boolean).join(": ");
  const error = job.error;
  if (!error) return "";
  if (typeof error === "string") return error;
  return [error.code, error.message].filter(Boolean).join(": ");
}

function userCell(userId) {
  if (!userId) return h("td", {}, "");
  return h(
    "td",
    {},
    h("button", { type: "button", class: "link mono", title: userId, onclick: () => lookupWallet(userId) }, shortId(userId)),
  );
}

function statTile(name, value, label) {
  return h("div", { class: "stat", dataset: { stat: name } }, h("span", { class: "value" }, value), h("span", { class: "label" }, label));
}

function renderJobs(overview) {
  const stats = overview.stats || {};
  const byStatus = stats.by_status || {};
  // Queue depth and in-flight first (the jobs table's view), then every other counter as sent.
  const tiles = [
    statTile("queue_depth", byStatus.queued ?? 0, t("admin.depth")),
    statTile("in_flight", byStatus.processing ?? 0, t("admin.inflight")),
  ];
  for (const [name, value] of numbersOf(stats)) {
    if (name === "by_status.queued" || name === "by_status.processing") continue;
    tiles.push(statTile(name, value, humanize(name.replace(/^by_status\./, ""))));
  }
  $("stats").replaceChildren(...tiles);
  const jobs = itemsOf(overview.recent ?? overview.recent_jobs ?? overview);
  const body = $("jobs").tBodies[0];
  if (!jobs.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("admin.nojobs"))));
    return;
  }
  body.replaceChildren(
    ...jobs.map((job) =>
      h(
        "tr",
        { dataset: { jobId: job.id ?? job.job_id } },
        h("td", { class: "mono", title: job.id ?? job.job_id }, shortId(job.id ?? job.job_id)),
        h("td", {}, job.kind ?? ""),
        h("td", {}, h("span", { class: `badge ${job.status}` }, job.status ?? "")),
        h("td", {}, job.max_attempts ? `${job.attempts ?? 0}/${job.max_attempts}` : (job.attempts ?? "")),
        h("td", {}, duration(job)),
        h("td", {}, formatDate(job.created_at)),
        userCell(job.user_id),
        h("td", { class: "small" }, errorOf(job)),
      ),
    ),
  );
}

function renderDlq(body) {
  const jobs = itemsOf(body);
  const tbody = $("dlq").tBodies[0];
  if (!jobs.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("admin.dlq.empty"))));
    return;
  }
  tbody.replaceChildren(
    ...jobs.map((job) => {
      const id = job.id ?? job.job_id;
      return h(
        "tr",
        { dataset: { jobId: id } },
        h("td", { class: "mono", title: id }, shortId(id)),
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
    api("/api/v1/admin/jobs?limit=50"),
    api("/api/v1/admin/jobs/dlq"),
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
  if (overview.status === "fulfilled") renderJobs(overview.value);
  if (dlq.status === "fulfilled") renderDlq(dlq.value);
  if (flagged.status === "fulfilled") renderFlagged(flagged.value);
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
  const id = (userId ?? $("wallet-user").value).trim();
  $("wallet-user").value = id;
  if (!id) return;
  say($("wallet-msg"), "");
  try {
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
    $("whoami").textContent = me.email || me.name || "";
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
