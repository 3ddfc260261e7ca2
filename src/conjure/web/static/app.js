// The visitor page: sign-up/log-in (or Telegram), wallet, a live tarot reading, history, invites, coins, stars.

import { api, ApiError, followEvents, h, itemsOf, newIdempotencyKey, say, tokens, userMessage } from "./api.js";
import { billingSection } from "./billing.js";
import { mountAccount } from "./account.js";
import { checkout } from "./buy.js";
import { applyI18n, formatDate, isolated, t, tag, toggleLang } from "./i18n.js";
import { cardName, loadDeck, ReadingView } from "./reading.js";
import { resume, showAuthMode, signIn, webConfig } from "./session.js";
import * as tg from "./telegram.js";

const $ = (id) => document.getElementById(id);
const TERMINAL = new Set(["succeeded", "failed", "dlq", "canceled"]);
const QUESTION_MIN = 8;
const QUESTION_MAX = 180;

const state = {
  config: { payments_enabled: false, stripe_publishable_key: null, coins_per_star: 10, signup_bonus_stars: 3 },
  mode: "signup",
  user: null,
  wallet: null,
  job: null, // {id, abort, done, reading}
  view: null, // the ReadingView on screen
};

const notice = (text, kind = "error") => say($("notice"), text, kind);
const errorText = (err) => userMessage(err);

// ---- auth --------------------------------------------------------------------------------

function setMode(mode) {
  state.mode = mode;
  showAuthMode(mode);
  $("signup-only").hidden = mode !== "signup";
  $("forgot").hidden = mode === "signup"; // a way back in is for logging in, not for a new account
}

async function submitAuth(event) {
  event.preventDefault();
  notice("");
  const body = { email: $("auth-email").value.trim(), password: $("auth-password").value };
  if (state.mode === "signup") {
    const name = $("auth-name").value.trim();
    const invite = $("auth-invite").value.trim();
    if (name) body.name = name;
    if (invite) body.invite_code = invite;
  }
  $("auth-submit").disabled = true;
  try {
    await enter(await signIn(`/api/v1/auth/${state.mode}`, body));
  } catch (err) {
    notice(errorText(err));
  } finally {
    $("auth-submit").disabled = false;
  }
}

async function telegramLogin() {
  // The SDK adds theming, haptics and buttons; the launch URL alone carries the signed init data.
  if (await tg.loadTelegram()) tg.startTelegram();
  const initData = tg.initData();
  if (!initData) return false;
  say($("notice"), t("auth.telegram"), "info");
  try {
    const user = await signIn("/api/v1/auth/telegram", { init_data: initData });
    notice("");
    await enter(user);
    return true;
  } catch (err) {
    notice(errorText(err));
    return false;
  }
}

function logout() {
  tokens.clear();
  state.user = null;
  account.reset(); // a new API key's secret must not wait, hidden, for the next person to sign in
  state.job?.abort.abort();
  state.view?.close();
  $("app").hidden = true;
  $("logout").hidden = true;
  $("whoami").hidden = true;
  $("auth").hidden = false;
}

async function enter(user) {
  state.user = user || (await api("/api/v1/me"));
  $("auth").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  const who = state.user.name || state.user.email || "";
  // Isolated: a name stored before sign-up checked names may hold U+202E.
  $("whoami").replaceChildren(isolated(who));
  $("whoami").hidden = !who;
  await Promise.allSettled([loadDeck(), loadWallet(), loadHistory(), loadInvite(), loadPackages(), billing.load(), account.load()]);
  await billing.returned();
}

// ---- wallet ------------------------------------------------------------------------------

let walletReads = 0; // reads of the wallet so far: one answering late must not undo a newer one

async function loadWallet() {
  // A reading's start and its end each read the wallet (a star held, then released): on a slow
  // network the first may answer last, and would show the star as still held.
  const read = ++walletReads;
  try {
    const wallet = await api("/api/v1/user/wallet");
    if (read !== walletReads) return;
    state.wallet = wallet;
    const held = wallet.stars_held ?? 0;
    const available = wallet.available_stars ?? wallet.star_balance - held;
    $("stars").textContent = available;
    $("coins").textContent = wallet.coin_balance;
    $("held").textContent = held;
    updateQuestionHint();
    updateExchangeCost();
    if ($("ledger-box").open) await loadLedger();
  } catch (err) {
    if (read === walletReads) notice(errorText(err));
  }
}

async function loadLedger() {
  const list = $("ledger");
  try {
    const rows = itemsOf(await api("/api/v1/user/wallet/transactions?limit=20"));
    list.replaceChildren(
      ...rows.map((row) =>
        h(
          "li",
          {},
          h("span", { class: "tx-type", dataset: { type: row.transaction_type ?? row.type ?? "" } }, tag("tx", row.transaction_type ?? row.type)),
          h("span", { class: `tx-amount ${row.amount < 0 ? "neg" : ""}` }, signed(row.amount), " ", tag("currency", row.currency)),
          row.held_change ? h("span", { class: "muted small" }, ` (${t("wallet.held")} ${signed(row.held_change)})`) : null,
          h("span", { class: "muted small" }, formatDate(row.created_at)),
        ),
      ),
    );
  } catch (err) {
    list.replaceChildren(h("li", { class: "notice error" }, errorText(err)));
  }
}

const signed = (n) => (n > 0 ? `+${n}` : String(n ?? 0));

// ---- asking a question -------------------------------------------------------------------

function questionState() {
  const n = [...$("question").value.trim()].length; // code points, so Thai and emoji count like the server
  if (n < QUESTION_MIN) return { ok: false, n, text: n === 0 ? "" : t("ask.short", { n }) };
  if (n > QUESTION_MAX) return { ok: false, n, text: t("ask.long", { n }) };
  return { ok: true, n, text: t("ask.ok") };
}

function updateQuestionHint() {
  const q = questionState();
  const available = state.wallet ? (state.wallet.available_stars ?? state.wallet.star_balance - state.wallet.stars_held) : 1;
  const hint = $("question-hint");
  hint.textContent = q.ok && available < 1 ? t("ask.nostars") : q.text;
  hint.className = `hint ${q.ok && available >= 1 ? "ok" : q.n ? "bad" : ""}`;
  $("question-count").textContent = t("ask.count", { n: q.n });
  $("question-count").classList.toggle("bad", q.n > QUESTION_MAX);
  $("ask-submit").disabled = !q.ok || Boolean(state.job && !state.job.done);
}

async function submitQuestion(event) {
  event.preventDefault();
  if (!questionState().ok) return;
  notice("");
  const question = $("question").value.trim();
  $("ask-submit").disabled = true;
  try {
    const accepted = await api("/api/v1/tarot/read", {
      method: "POST",
      body: { question },
      headers: { "Idempotency-Key": newIdempotencyKey() },
    });
    $("question").value = "";
    startReading(accepted.job_id, question);
  } catch (err) {
    notice(errorText(err));
    updateQuestionHint();
  }
}

// ---- live progress -----------------------------------------------------------------------

const scrollBehavior = () => (window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth");

/** Bring the reading into sight: on a phone it starts below the question box, out of view. */
function showReadingPanel() {
  const rect = $("reading").getBoundingClientRect();
  if (rect.top < 0 || rect.top > window.innerHeight * 0.4) {
    $("reading").scrollIntoView({ behavior: scrollBehavior(), block: "start" });
  }
}

async function startReading(jobId, question) {
  state.job?.abort.abort();
  state.view?.close();
  const job = { id: jobId, abort: new AbortController(), done: false, reading: null };
  const view = new ReadingView(question);
  state.job = job;
  state.view = view;
  view.step("queued");
  showReadingPanel();
  updateQuestionHint();
  loadWallet(); // shows the held star at once
  try {
    await followEvents(`/api/v1/jobs/${jobId}/events`, (event) => view.onEvent(event), job.abort.signal);
  } catch (err) {
    // The result endpoint below is the source of truth; a broken stream only costs liveness.
    if (err instanceof ApiError && err.status !== 0 && err.status !== 404) console.info("[conjure] events:", err.message);
  }
  if (job.abort.signal.aborted) return;
  await finishReading(job, view);
}

async function finishReading(job, view) {
  const deadline = Date.now() + 120_000;
  let reading;
  for (;;) {
    try {
      reading = await api(`/api/v1/reading/${job.id}`);
    } catch (err) {
      say($("reading-error"), errorText(err));
      break;
    }
    if (TERMINAL.has(reading.status) || Date.now() > deadline || job.abort.signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (job.abort.signal.aborted) return;
  job.reading = reading;
  if (reading && TERMINAL.has(reading.status)) await view.finish(reading);
  if (job.abort.signal.aborted) return;
  job.done = true;
  updateQuestionHint();
  await Promise.allSettled([loadWallet(), loadHistory()]);
}

async function showPastReading(jobId) {
  state.job?.abort.abort();
  state.view?.close();
  const view = new ReadingView("", { paced: false });
  const job = { id: jobId, abort: new AbortController(), done: true, reading: null };
  state.view = view;
  state.job = job;
  // Another reading opened (or the person signed out) while this one was read: its answer is not
  // theirs to draw, nor the reading a language switch draws again.
  const left = () => job.abort.signal.aborted;
  try {
    const reading = await api(`/api/v1/reading/${jobId}`);
    if (left()) return;
    if (!TERMINAL.has(reading.status)) {
      startReading(jobId, reading.result?.question || "");
      return;
    }
    job.reading = reading;
    await view.finish(reading);
  } catch (err) {
    if (!left()) say($("reading-error"), errorText(err));
  }
  if (left()) return;
  $("reading").scrollIntoView({ behavior: scrollBehavior(), block: "start" });
  updateQuestionHint();
}

// ---- history -----------------------------------------------------------------------------

const HISTORY_PAGE = 20;

function historyItem(row) {
  const id = row.job_id || row.id;
  const question = row.question || row.result?.question || "";
  const status = row.status || "succeeded";
  const cards = row.cards || row.result?.cards || [];
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "history-item", onclick: () => showPastReading(id), dataset: { jobId: id } },
      h("span", { class: "history-q" }, question),
      h(
        "span",
        { class: "history-meta muted small" },
        h("span", { class: `badge ${status}` }, tag("history.status", status)),
        cards.length ? ` ${cards.map((c) => cardName(c)).join(" · ")}` : "",
        ` ${formatDate(row.created_at)}`,
      ),
    ),
  );
}

/** The newest readings, or (`more`) the next older page after those shown; "Show more" while any are left. */
async function loadHistory({ more = false } = {}) {
  const shown = more ? $("history").children.length : 0;
  try {
    const body = await api(`/api/v1/readings?limit=${HISTORY_PAGE}&offset=${shown}`);
    const rows = itemsOf(body).map(historyItem);
    if (more) $("history").append(...rows);
    else {
      // Drawn anew when a reading ends: the past reading a keyboard user is on goes with the old
      // list, so the same reading's button is focused in the new one.
      const focused = $("history").contains(document.activeElement) ? document.activeElement.dataset.jobId : null;
      $("history").replaceChildren(...rows);
      if (focused) $("history").querySelector(`[data-job-id="${focused}"]`)?.focus({ preventScroll: true });
    }
    const count = $("history").children.length;
    $("history-empty").hidden = count > 0;
    $("history-more").hidden = !(typeof body.total === "number" && body.total > count);
  } catch (err) {
    $("history-more").hidden = true;
    $("history").replaceChildren(h("li", { class: "notice error" }, errorText(err)));
  }
}

// ---- invites -----------------------------------------------------------------------------

async function loadInvite() {
  try {
    const invite = await api("/api/v1/user/invite", { method: "POST" });
    const link = invite.invite_link || `${location.origin}/?invite=${encodeURIComponent(invite.invite_code)}`;
    $("invite-code").textContent = invite.invite_code;
    $("invite-link").value = link;
    $("invite-total").textContent = t("invite.total", { n: invite.total_invites ?? 0 });
  } catch (err) {
    $("invite-total").textContent = errorText(err);
  }
}

async function copyInvite() {
  const link = $("invite-link").value;
  if (!link) return;
  try {
    await navigator.clipboard.writeText(link);
  } catch {
    $("invite-link").select();
    document.execCommand("copy"); // older webviews (Telegram on some Androids)
  }
  const button = $("invite-copy");
  button.textContent = t("invite.copied");
  setTimeout(() => {
    button.textContent = t("invite.copy");
  }, 1500);
}

// ---- coins -> stars ----------------------------------------------------------------------

function updateExchangeCost() {
  const stars = Math.max(0, Math.floor(Number($("exchange-stars").value) || 0));
  const rate = state.config.coins_per_star;
  $("exchange-cost").textContent = t("exchange.cost", { coins: stars * rate, rate });
}

async function submitExchange(event) {
  event.preventDefault();
  const stars = Math.floor(Number($("exchange-stars").value));
  $("exchange-submit").disabled = true;
  try {
    const result = await api("/api/v1/exchange-coins", { method: "POST", body: { stars } });
    const coins = result.coins_spent ?? stars * state.config.coins_per_star;
    say($("exchange-msg"), t("exchange.done", { coins, stars: result.stars ?? stars }), "ok");
    await loadWallet();
  } catch (err) {
    say($("exchange-msg"), errorText(err));
  } finally {
    $("exchange-submit").disabled = false;
  }
}

// ---- buying stars ------------------------------------------------------------------------

// Module scripts run once the document is parsed, so the #buy panel is there to fill.
const { loadPackages } = checkout({
  panel: $("buy"),
  config: () => state.config,
  describe: (pkg) => [
    h("strong", {}, pkg.name),
    // What the person gets in all (bought + bonus, as the wallet is credited), then the bonus part.
    h(
      "span",
      {},
      `★ ${pkg.total_stars ?? pkg.stars + (pkg.bonus_stars || 0)} `,
      pkg.bonus_stars ? h("span", { class: "bonus" }, t("buy.bonus", { n: pkg.bonus_stars })) : "",
    ),
  ],
  keys: { off: "buy.off", unavailable: "buy.unavailable", failed: "error.unexpected", paid: "buy.paid" },
  returnPath: "/",
  logPrefix: "[conjure]",
  onPaid: loadWallet,
});

// ---- plans & billing ---------------------------------------------------------------------

const billing = billingSection({ panel: $("billing"), onChange: loadWallet });

// ---- the account: linked sign-ins, data export, deletion ----------------------------------

const account = mountAccount({
  panel: $("account"),
  onDeleted: () => {
    logout();
    notice(t("acct.deleted"), "ok");
  },
});

// ---- start-up ----------------------------------------------------------------------------

function wire() {
  $("lang-toggle").addEventListener("click", toggleLang);
  $("logout").addEventListener("click", logout);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setMode(tab.dataset.mode));
  $("auth-form").addEventListener("submit", submitAuth);
  $("wallet-refresh").addEventListener("click", loadWallet);
  $("history-more").addEventListener("click", () => loadHistory({ more: true }));
  $("ledger-box").addEventListener("toggle", () => $("ledger-box").open && loadLedger());
  $("question").addEventListener("input", updateQuestionHint);
  $("ask-form").addEventListener("submit", submitQuestion);
  $("invite-copy").addEventListener("click", copyInvite);
  $("exchange-stars").addEventListener("input", updateExchangeCost);
  $("exchange-form").addEventListener("submit", submitExchange);
  document.addEventListener("unauthorized", (event) => {
    // Expired and not refreshable: back to the sign-in form, saying why in people's words.
    if (state.user) {
      logout();
      notice(userMessage(event.detail));
    }
  });
  document.addEventListener("langchange", () => {
    setMode(state.mode);
    updateQuestionHint();
    updateExchangeCost();
    updateBonus();
    if (state.user) Promise.allSettled([loadHistory(), loadInvite(), loadPackages(), billing.load()]);
    if (state.user) account.render();
    if (state.job?.done) state.view?.relabel(state.job.reading);
    if ($("ledger-box").open) loadLedger();
  });
}

function updateBonus() {
  const n = state.config.signup_bonus_stars;
  $("signup-bonus").textContent = n > 0 ? t("auth.bonus", { n }) : "";
  $("signup-bonus").hidden = !(n > 0);
}

async function boot() {
  applyI18n();
  wire();
  // Without it the defaults keep the page usable; the buy button then asks the server directly.
  state.config = await webConfig(state.config);
  updateBonus();
  const invite = new URLSearchParams(location.search).get("invite");
  if (invite) $("auth-invite").value = invite;
  setMode(invite || !tokens.access ? "signup" : "login");
  $("booting").hidden = true;
  if (tg.launchedFromTelegram() && (await telegramLogin())) return;
  if (await resume(enter, (err) => notice(errorText(err)))) return;
  $("auth").hidden = false;
}

boot().catch((err) => notice(errorText(err)));
