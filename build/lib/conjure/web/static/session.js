// Signing in, shared by the tarot page and PixelPop: the sign-up/log-in tabs, trading credentials
// (email or Telegram's initData) for a session, the page's public config, and resuming a session
// a previous visit left.

import { api, tokens } from "./api.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/** Show the auth form as "signup" or "login": the active tab, the password's autocomplete, the button. */
export function showAuthMode(mode) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.mode === mode);
  $("auth-password").autocomplete = mode === "signup" ? "new-password" : "current-password";
  $("auth-submit").dataset.i18n = `auth.submit.${mode}`;
  $("auth-submit").textContent = t(`auth.submit.${mode}`);
}

/** POST credentials to an auth endpoint ("/api/v1/auth/login", …), keep the session, return its user. */
export async function signIn(path, body) {
  const session = await api(path, { method: "POST", body, auth: false });
  tokens.save(session);
  return session.user;
}

/** The server's /web/config over `defaults`; the defaults alone when it cannot be read. */
export async function webConfig(defaults) {
  try {
    return { ...defaults, ...(await api("/api/v1/web/config", { auth: false })) };
  } catch {
    return defaults; // they keep the page usable
  }
}

/**
 * Enter with the session a previous visit left, if any: true when `enter(null)` worked. A session
 * that no longer works is dropped; `onError` hears why unless it simply expired (401).
 */
export async function resume(enter, onError) {
  if (!tokens.access) return false;
  try {
    await enter(null);
    return true;
  } catch (err) {
    tokens.clear();
    if (err.status !== 401) onError(err);
    return false;
  }
}
