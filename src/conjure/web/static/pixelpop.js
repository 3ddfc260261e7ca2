// PixelPop (seed 004): the Telegram Mini App. Sign in with Telegram's initData (or email in a plain
// browser), describe a picture, watch it being made (polling every second, as the seed says), keep
// it (download/share), browse the gallery, see and buy credits (stars).

import { api, h, itemsOf, newIdempotencyKey, say, tokens, userMessage } from "./api.js";
import { checkout } from "./buy.js";
import { applyI18n, langChosen, setLang, t, toggleLang } from "./i18n.js";
import "./pixelpop-i18n.js";
import { resume, showAuthMode, signIn, webConfig } from "./session.js";
import * as tg from "./telegram.js";

const $ = (id) => document.getElementById(id);
const PROMPT_MIN = 3;
const PROMPT_MAX = 1000;
const POLL_MS = 1000; // seed 004: "loop every 1s: GET /generation/{id}"
const TERMINAL = new Set(["completed", "failed", "canceled"]);
const GALLERY_PAGE = 12;

const state = {
  config: { payments_enabled: false, stripe_publishable_key: null, signup_bonus_stars: 3 },
  mode: "signup",
  user: null,
  wallet: null,
  job: null, // {id, prompt, size, started, done}
  viewing: false, // an image from the gallery is open
  gallery: [],
  galleryTotal: null,
  main: null, // Telegram's MainButton, when inside Telegram
};

const notice = (text, kind = "error") => say($("notice"), text, kind);

// ---- signing in ----------------------------------------------------------------------------

function setMode(mode) {
  state.mode = mode;
  showAuthMode(mode);
  const bonus = state.config.signup_bonus_stars;
  $("signup-bonus").textContent = bonus > 0 ? t("auth.bonus", { n: bonus }) : "";
  $("signup-bonus").hidden = mode !== "signup" || !(bonus > 0);
}

async function submitAuth(event) {
  event.preventDefault();
  notice("");
  $("auth-submit").disabled = true;
  try {
    const body = { email: $("auth-email").value.trim(), password: $("auth-password").value };
    await enter(await signIn(`/api/v1/auth/${state.mode}`, body));
  } catch (err) {
    notice(userMessage(err));
  } finally {
    $("auth-submit").disabled = false;
  }
}

async function telegramSignIn() {
  const data = tg.initData();
  if (!data) return false;
  say($("notice"), t("pp.telegram"), "info");
  try {
    const user = await signIn("/api/v1/auth/telegram", { init_data: data });
    notice("");
    await enter(user);
    return true;
  } catch (err) {
    notice(userMessage(err));
    tg.haptic.notify("error");
    return false;
  }
}

function logout() {
  tokens.clear();
  state.user = null;
  state.job = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("credits-pill").hidden = true;
  $("auth").hidden = false;
  state.main?.hide();
}

async function enter(user) {
  state.user = user || (await api("/api/v1/me"));
  $("auth").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = Boolean(tg.webApp()?.initData); // a Telegram session is the chat's identity
  $("credits-pill").hidden = false;
  updateControls();
  await Promise.allSettled([loadWallet(), loadGallery(), loadPackages()]);
}

// ---- the prompt and the generate buttons ---------------------------------------------------

function promptState() {
  const n = [...$("prompt").value.trim()].length; // code points, as the server counts
  if (n < PROMPT_MIN) return { ok: false, n, text: n ? t("pp.prompt.short") : "" };
  if (n > PROMPT_MAX) return { ok: false, n, text: t("pp.prompt.long") };
  return { ok: true, n, text: t("pp.prompt.ok") };
}

const available = () => (state.wallet ? (state.wallet.available_stars ?? state.wallet.star_balance - state.wallet.stars_held) : 1);
const busy = () => Boolean(state.job && !state.job.done);

function updateControls() {
  const p = promptState();
  const broke = p.ok && available() < 1;
  $("prompt-hint").textContent = broke ? t("pp.prompt.nocredits") : p.text;
  $("prompt-hint").className = `hint ${p.ok && !broke ? "ok" : p.n ? "bad" : ""}`;
  $("prompt-count").textContent = `${p.n}/${PROMPT_MAX}`;
  $("generate").disabled = !p.ok || busy();
  $("generate").textContent = busy() ? t("pp.generate.busy") : t("pp.generate");
  tg.confirmClosing(busy());
  if (state.main && state.user) {
    const again = state.job?.done && !state.viewing;
    state.main.set({
      text: busy() ? t("pp.generate.busy") : again ? t("pp.generate.again") : t("pp.generate.main"),
      enabled: p.ok && !busy(),
      busy: busy(),
    });
  }
}

const chosenSize = () => document.querySelector("input[name=size]:checked")?.value || "1024x1024";

async function generate(event) {
  event?.preventDefault();
  const p = promptState();
  if (!p.ok || busy()) {
    if (!p.ok) tg.haptic.notify("warning");
    return;
  }
  notice("");
  tg.haptic.tap("medium");
  const prompt = $("prompt").value.trim();
  const size = chosenSize();
  state.job = { id: null, prompt, size, started: Date.now(), done: false };
  updateControls();
  try {
    const accepted = await api("/api/generation", {
      method: "POST",
      body: { prompt, size },
      headers: { "Idempotency-Key": newIdempotencyKey() },
    });
    state.job.id = accepted.job_id;
    showProgress(state.job, accepted.status);
    loadWallet(); // the held star shows at once
    await follow(state.job);
  } catch (err) {
    state.job.done = true;
    state.job = null;
    notice(userMessage(err));
    tg.haptic.notify("error");
    if (err.code === "insufficient_stars") $("buy").scrollIntoView({ behavior: "smooth", block: "start" });
    updateControls();
  }
}

// ---- live status (polling, 1 s) ------------------------------------------------------------

const STEP_OF = { pending: "pending", generating: "generating", downloading: "storing", storing: "storing", completed: "completed" };
const STEP_ORDER = ["pending", "generating", "storing", "completed"];

function markGenStep(step, failed = false) {
  const index = STEP_ORDER.indexOf(step);
  [...$("gen-steps").children].forEach((li, i) => {
    li.className = i < index ? "done" : i === index ? (failed ? "failed" : step === "completed" ? "done" : "active") : "";
  });
}

function frameFor(size) {
  const [w, hgt] = String(size || "1024x1024").split("x").map(Number);
  $("frame").className = `frame ${w > hgt ? "landscape" : w < hgt ? "portrait" : "square"}`;
}

function showProgress(job, status) {
  state.viewing = false;
  tg.backButton(null);
  $("result").hidden = false;
  $("result-title").textContent = t("pp.result");
  $("gen-steps").hidden = false;
  $("result-prompt").textContent = `“${job.prompt}”`;
  $("result-actions").hidden = true;
  $("result-note").hidden = true;
  $("gen-error").hidden = true;
  $("image-retry").hidden = true;
  $("image").hidden = true;
  $("image").removeAttribute("src");
  $("placeholder").hidden = false;
  frameFor(job.size);
  updateStep(status === "pending" ? "pending" : "generating");
  $("result").scrollIntoView({ behavior: "smooth", block: "start" });
}

function updateStep(step) {
  markGenStep(step);
  $("gen-status").textContent = t(`pp.status.${step}`);
}

async function follow(job) {
  // The panel shows this picture only while the person has not opened another from the gallery
  // meanwhile: then its progress and its result are not drawn over the one they are looking at
  // (the result goes to the top of the gallery).
  const shown = () => !state.viewing;
  const ticker = setInterval(() => {
    if (shown()) $("elapsed").textContent = t("pp.elapsed", { s: Math.round((Date.now() - job.started) / 1000) });
  }, 250);
  let view = null;
  try {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (state.job !== job) return; // signed out or replaced
      try {
        view = await api(`/api/generation/${job.id}`);
      } catch (err) {
        if (err.status === 0) continue; // a dropped connection: keep polling
        throw err;
      }
      if (TERMINAL.has(view.status)) break;
      if (shown()) updateStep(view.status === "pending" ? "pending" : STEP_OF[view.step] || "generating");
      if (Date.now() > deadline) break;
    }
  } finally {
    clearInterval(ticker);
    job.done = true;
  }
  if (view && !shown()) {
    if (view.status === "completed") $("prompt").value = "";
    else notice(jobFailure(view)); // said above the page, not in the panel they are looking at
    tg.haptic.notify(view.status === "completed" ? "success" : "error");
  } else if (view?.status === "completed") {
    updateStep("completed");
    showImage({
      url: view.image_url,
      prompt: job.prompt,
      id: job.id,
      offline: view.offline_preview,
      expiresAt: view.image_url_expires_at,
    });
    tg.haptic.notify("success");
    $("prompt").value = "";
  } else if (view) {
    markGenStep(STEP_ORDER.find((s) => $("gen-steps").querySelector(`[data-step=${s}].active`)) || "generating", true);
    $("gen-status").textContent = t(`pp.status.${view.status}`);
    say($("gen-error"), jobFailure(view));
    $("placeholder").hidden = true;
    tg.haptic.notify("error");
  }
  updateControls();
  await Promise.allSettled([loadWallet(), loadGallery()]);
}

function jobFailure(view) {
  const code = view.error?.code || "";
  if (view.error?.message) console.info(`[pixelpop] ${view.status} ${code}: ${view.error.message}`);
  if (view.status === "canceled") return t("pp.status.canceled");
  if (code === "model_rejected" || code === "content_policy") return t("pp.job.model_rejected");
  if (["model_unavailable", "timeout", "attempts_exhausted", "image_download_unavailable"].includes(code)) return t("pp.job.busy");
  return t("pp.job.generic");
}

// When a signed link stops working (ms since the epoch), or null if it cannot be told: the API's
// image_url_expires_at when it gave one, else the link's own expiry (the local store's "exp", in
// seconds; S3's X-Amz-Date plus X-Amz-Expires).
function linkExpiry(url, expiresAt) {
  if (expiresAt) {
    const at = Date.parse(expiresAt);
    if (!Number.isNaN(at)) return at;
  }
  try {
    const query = new URL(url, location.href).searchParams;
    const exp = Number(query.get("exp"));
    if (query.has("exp") && Number.isFinite(exp)) return exp * 1000;
    const signed = query.get("X-Amz-Date")?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
    const ttl = Number(query.get("X-Amz-Expires"));
    if (signed && Number.isFinite(ttl)) {
      const [, y, mo, d, hh, mm, ss] = signed.map(Number);
      return Date.UTC(y, mo - 1, d, hh, mm, ss) + ttl * 1000;
    }
  } catch {
    // not a URL we can read: unknown
  }
  return null;
}

function showImage({ url, prompt, id, offline, expiresAt = null }) {
  const img = $("image");
  img.alt = prompt;
  img.onload = () => {
    img.hidden = false;
    $("placeholder").hidden = true;
    img.classList.add("shown");
  };
  img.onerror = () => {
    $("placeholder").hidden = true;
    // "Expired" only when the signed link's time really ran out; anything else (a dropped
    // connection, a server hiccup) may well work on a second try.
    const until = linkExpiry(url, expiresAt);
    if (until !== null && Date.now() > until) {
      say($("gen-error"), t("pp.expired"));
      $("image-retry").hidden = true;
    } else {
      say($("gen-error"), t("pp.loadfail"));
      $("image-retry").hidden = false;
    }
  };
  $("image-retry").hidden = true;
  $("image-retry").onclick = () => {
    $("image-retry").hidden = true;
    $("gen-error").hidden = true;
    $("placeholder").hidden = false;
    img.src = url; // assigning it again loads it again
  };
  img.src = url;
  $("result-prompt").textContent = `“${prompt}”`;
  $("download").href = url;
  $("download").setAttribute("download", `pixelpop-${String(id).slice(0, 8)}.png`);
  $("download").dataset.url = url;
  $("result-actions").hidden = false;
  $("result-note").textContent = offline ? t("pp.offline") : "";
  $("result-note").hidden = !offline;
}

// ---- keeping a picture ---------------------------------------------------------------------

function download(event) {
  const url = $("download").dataset.url;
  const app = tg.webApp();
  // Inside Telegram a plain download link does nothing; Bot API 8.0 gives the app a real download.
  if (app?.downloadFile && tg.supports("8.0")) {
    event.preventDefault();
    app.downloadFile({ url, file_name: $("download").getAttribute("download") });
  }
  tg.haptic.tap();
}

async function share() {
  const url = $("download").dataset.url;
  const text = t("pp.share.text", { prompt: $("image").alt });
  tg.haptic.tap();
  const app = tg.webApp();
  if (app?.openTelegramLink && app.initData) {
    app.openTelegramLink(`https://t.me/share/url?url=${encodeURIComponent(url)}&text=${encodeURIComponent(text)}`);
    return;
  }
  if (navigator.share) {
    try {
      await navigator.share({ title: "PixelPop", text, url });
      return;
    } catch {
      // dismissed or refused: fall through to copying the link
    }
  }
  try {
    await navigator.clipboard.writeText(url);
  } catch {
    // very old webviews: the link is still on the Download button
  }
  say($("gen-error"), t("pp.shared"), "ok");
}

function again() {
  $("result").hidden = true;
  state.viewing = false;
  tg.backButton(null);
  $("create").scrollIntoView({ behavior: "smooth", block: "start" });
  $("prompt").focus();
  updateControls();
}

// ---- gallery -------------------------------------------------------------------------------

async function loadGallery({ more = false } = {}) {
  try {
    const offset = more ? state.gallery.length : 0;
    const body = await api(`/api/generations?limit=${GALLERY_PAGE}&offset=${offset}`);
    const items = itemsOf(body);
    state.gallery = more ? [...state.gallery, ...items] : items;
    state.galleryTotal = typeof body?.total === "number" ? body.total : null;
    renderGallery(items.length === GALLERY_PAGE);
  } catch (err) {
    $("gallery").replaceChildren(h("li", { class: "notice error" }, userMessage(err)));
  }
}

function renderGallery(mayHaveMore) {
  const items = state.gallery;
  $("gallery-empty").hidden = items.length > 0;
  const total = state.galleryTotal ?? items.length;
  $("gallery-count").textContent = total === 1 ? t("pp.gallery.count1") : total ? t("pp.gallery.count", { n: total }) : "";
  $("gallery-more").hidden = state.galleryTotal !== null ? items.length >= state.galleryTotal : !mayHaveMore;
  // Drawn anew when a picture is done: the thumbnail a keyboard user is on goes with the old
  // gallery, so the same picture's is focused in the new one.
  const focused = $("gallery").contains(document.activeElement) ? document.activeElement.dataset.jobId : null;
  $("gallery").replaceChildren(
    ...items.map((item) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "thumb", dataset: { jobId: item.job_id }, title: item.prompt, onclick: () => openFromGallery(item) },
          h("img", { src: item.image_url, alt: item.prompt, loading: "lazy" }),
        ),
      ),
    ),
  );
  if (focused) $("gallery").querySelector(`[data-job-id="${focused}"]`)?.focus({ preventScroll: true });
}

function openFromGallery(item) {
  tg.haptic.select();
  state.viewing = true;
  $("result").hidden = false;
  $("result-title").textContent = t("pp.viewing");
  $("gen-steps").hidden = true;
  $("gen-status").textContent = "";
  $("elapsed").textContent = "";
  $("gen-error").hidden = true;
  $("image-retry").hidden = true;
  $("image").hidden = true;
  $("placeholder").hidden = false;
  frameFor(item.size);
  showImage({ url: item.image_url, prompt: item.prompt, id: item.job_id, offline: item.provider === "offline" });
  tg.backButton(again); // Telegram's back arrow returns to the prompt
  $("result").scrollIntoView({ behavior: "smooth", block: "start" });
  updateControls();
}

// ---- credits -------------------------------------------------------------------------------

let walletReads = 0; // reads of the credits so far: one answering late must not undo a newer one

async function loadWallet() {
  // A picture's start and its end each read the credits (a star held, then released): on a slow
  // network the first may answer last, and would show the star as still held.
  const read = ++walletReads;
  try {
    const wallet = await api("/api/v1/user/wallet");
    if (read !== walletReads) return;
    state.wallet = wallet;
    const held = wallet.stars_held ?? 0;
    $("credits").textContent = available();
    $("credits-big").textContent = available();
    $("credits-held").textContent = t("pp.credits.held", { n: held });
    $("credits-held").hidden = !held;
    updateControls();
  } catch (err) {
    if (read === walletReads) notice(userMessage(err));
  }
}

// Module scripts run once the document is parsed, so the #buy panel is there to fill.
const { loadPackages } = checkout({
  panel: $("buy"),
  config: () => state.config,
  describe: (pkg) => [
    h("strong", {}, `★ ${pkg.total_stars ?? pkg.stars + (pkg.bonus_stars || 0)}`),
    pkg.bonus_stars ? h("span", { class: "bonus" }, t("buy.bonus", { n: pkg.bonus_stars })) : null,
  ],
  keys: { off: "pp.buy.off", unavailable: "pp.buy.off", failed: "problem.generic", paid: "pp.buy.paid" },
  returnPath: "/pixelpop",
  logPrefix: "[pixelpop]",
  packagesAuth: false,
  onClick: () => tg.haptic.tap(),
  onSuccess: () => tg.haptic.notify("success"),
  onPaid: loadWallet,
});

// ---- start-up ------------------------------------------------------------------------------

function wire() {
  $("lang-toggle").addEventListener("click", toggleLang);
  $("logout").addEventListener("click", logout);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setMode(tab.dataset.mode));
  $("auth-form").addEventListener("submit", submitAuth);
  $("prompt").addEventListener("input", updateControls);
  $("create-form").addEventListener("submit", generate);
  for (const radio of document.querySelectorAll("input[name=size]")) radio.addEventListener("change", () => tg.haptic.select());
  $("download").addEventListener("click", download);
  $("share").addEventListener("click", share);
  $("again").addEventListener("click", again);
  $("gallery-more").addEventListener("click", () => loadGallery({ more: true }));
  $("wallet-refresh").addEventListener("click", loadWallet);
  $("credits-pill").addEventListener("click", () => $("buy").scrollIntoView({ behavior: "smooth", block: "start" }));
  document.addEventListener("unauthorized", () => {
    if (state.user) {
      logout();
      notice(t("auth.session_over"));
    }
  });
  document.addEventListener("langchange", () => {
    setMode(state.mode);
    updateControls();
    if (state.user) loadPackages();
  });
}

async function boot() {
  const app = await tg.loadTelegram();
  if (app) {
    tg.startTelegram();
    if (!langChosen() && tg.telegramLanguage()) setLang(tg.telegramLanguage(), { save: false });
    state.main = tg.mainButton(() => generate());
    document.documentElement.classList.toggle("has-main-button", Boolean(state.main));
  }
  applyI18n();
  wire();
  state.config = await webConfig(state.config);
  setMode(tokens.access ? "login" : "signup");
  $("booting").hidden = true;
  // Inside Telegram the chat's identity wins over whatever a browser session left behind.
  if (tg.launchedFromTelegram() && (await telegramSignIn())) return;
  if (await resume(enter, (err) => notice(userMessage(err)))) return;
  $("auth").hidden = false;
}

boot().catch((err) => notice(userMessage(err)));
