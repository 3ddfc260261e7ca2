// The password reset page: ask for a link by email, or (opened from the link) choose a new password.

import "./reset-i18n.js";
import { ApiError, api, banner, problemFrom, tokens, userMessage } from "./api.js";
import { applyI18n, currentLang, t, toggleLang } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const tell = banner($("notice"));

let token = null;
// The page whose "Forgot password?" led here: its links back go there, also once the emailed link
// is opened in this browser. Only a path of this site (never "//elsewhere": no open redirect).
const FROM_KEY = "conjure.reset_from";

function pointBack() {
  const from = new URLSearchParams(location.search).get("from");
  if (from && /^\/[a-z-]*$/.test(from)) localStorage.setItem(FROM_KEY, from);
  const back = localStorage.getItem(FROM_KEY) || "/";
  for (const link of document.querySelectorAll("a.back")) link.href = back;
}

function show(section) {
  for (const id of ["request", "choose", "done"]) $(id).hidden = id !== section;
}

/** Take the link's token from the fragment, then out of the address bar and history (it is a
 * password for an hour); shows the form that fits. Also on `hashchange`: a link opened in this tab. */
function readToken() {
  const found = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(null, "", location.pathname);
  if (found) {
    token = found;
    tell(null);
  }
  show(token ? "choose" : "request");
}

/** POST the request; its 202 has no body, which `api()` (JSON or 204) would take for a bad answer. */
async function askForLink(email) {
  let resp;
  try {
    resp = await fetch("/api/v1/auth/password-reset", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ email, language: currentLang() }),
    });
  } catch {
    throw new ApiError(0, "network_error", t("error.network"));
  }
  if (!resp.ok) throw await problemFrom(resp);
}

async function requestLink(event) {
  event.preventDefault();
  const email = $("reset-email").value.trim();
  if (!$("reset-email").checkValidity() || !email) {
    tell(() => t("field.email"));
    return;
  }
  $("request-submit").disabled = true;
  try {
    await askForLink(email);
    tell(() => t("reset.request.sent"), "ok");
  } catch (err) {
    tell(() => userMessage(err));
  } finally {
    $("request-submit").disabled = false;
  }
}

async function choosePassword(event) {
  event.preventDefault();
  const password = $("reset-password").value;
  if (password.length < 8) return tell(() => t("reset.short"));
  if (password !== $("reset-password2").value) return tell(() => t("reset.mismatch"));
  $("choose-submit").disabled = true;
  try {
    await api("/api/v1/auth/password-reset/confirm", { method: "POST", body: { token, password }, auth: false });
    tokens.clear(); // this browser's session was signed out with every other one
    tell(null);
    show("done");
  } catch (err) {
    tell(() => userMessage(err));
    if (err.code === "invalid_reset_token") show("request");
  } finally {
    $("choose-submit").disabled = false;
  }
}

applyI18n();
$("lang-toggle").addEventListener("click", toggleLang);
document.addEventListener("langchange", () => tell.again());
$("request-form").addEventListener("submit", requestLink);
$("choose-form").addEventListener("submit", choosePassword);
window.addEventListener("hashchange", readToken);
pointBack();
readToken();
