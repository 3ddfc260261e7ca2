// Talking to the Conjure API: bearer tokens, problem+json errors, SSE over fetch, small DOM helpers.

import { has, t } from "./i18n.js";

const ACCESS_KEY = "conjure.access_token";
const REFRESH_KEY = "conjure.refresh_token";

export const tokens = {
  get access() {
    return localStorage.getItem(ACCESS_KEY);
  },
  get refresh() {
    return localStorage.getItem(REFRESH_KEY);
  },
  save(body) {
    if (body.access_token) localStorage.setItem(ACCESS_KEY, body.access_token);
    if (body.refresh_token) localStorage.setItem(REFRESH_KEY, body.refresh_token);
  },
  clear() {
    localStorage.removeItem(ACCESS_KEY);
    localStorage.removeItem(REFRESH_KEY);
  },
};

/**
 * A failed call: `message` is the server's `detail` (for the console and the operator console),
 * `code` the problem's stable code; people see `userMessage(err)`, their language's words for the code.
 */
export class ApiError extends Error {
  constructor(status, code, detail, body = {}, retryAfter = null) {
    super(detail);
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

const FIELD_ALIASES = { init_data: "generic", payment_intent_id: "generic" };

/** What a person should read for a failed call (never a stack, a setting name or pydantic's text). */
export function userMessage(err) {
  if (!(err instanceof ApiError)) return t("problem.generic");
  if (err.status === 0) return t("error.network");
  if (err.code === "validation_error") {
    const fields = Array.isArray(err.body?.errors) ? err.body.errors : [];
    const words = [
      ...new Set(
        fields.map((e) => {
          const field = String(e.field || "").split(".").pop();
          const key = `field.${FIELD_ALIASES[field] ?? field}`;
          return has(key) ? t(key) : t("field.generic");
        }),
      ),
    ];
    return words.length ? words.join(" ") : t("field.generic");
  }
  if (err.code === "rate_limited") return t("problem.rate_limited", { s: err.retryAfter || 60 });
  if (has(`problem.${err.code}`)) return t(`problem.${err.code}`);
  if (err.status === 401) return t("problem.unauthorized");
  if (err.status === 403) return t("problem.forbidden");
  if (err.status === 404) return t("problem.not_found");
  if (err.status === 503) return t("problem.unavailable");
  if (err.status >= 500) return t("problem.server");
  return t("problem.generic");
}

/** Turn a non-2xx response into an ApiError; never lets a raw body or stack reach the screen. */
export async function problemFrom(resp) {
  let body = {};
  try {
    body = await resp.json();
  } catch {
    body = {};
  }
  let detail = typeof body.detail === "string" && body.detail ? body.detail : body.title;
  if (!detail) detail = `HTTP ${resp.status}`;
  if (Array.isArray(body.errors) && body.errors.length) {
    const fields = body.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    detail = `${detail} (${fields})`;
  }
  const code = body.code || `http_${resp.status}`;
  // The details are for whoever debugs (console); the page shows userMessage(err). Not console.error:
  // an expected refusal (wrong password, 402) is not a page error.
  console.info(`[conjure] ${resp.status} ${code}: ${detail}`);
  const retry = Number.parseInt(resp.headers.get("retry-after") || "", 10);
  return new ApiError(resp.status, code, detail, body, Number.isFinite(retry) ? retry : null);
}

export function authHeaders() {
  const token = tokens.access;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

let refreshing = null;

/** Try the refresh token once (shared by concurrent callers); false when there is none or it fails. */
async function refreshAccess() {
  if (!tokens.refresh) return false;
  refreshing ??= (async () => {
    try {
      const resp = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh }),
      });
      if (!resp.ok) return false;
      tokens.save(await resp.json());
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => {
        refreshing = null;
      }, 0);
    }
  })();
  return refreshing;
}

/** Call the API; resolves to the JSON body (or null for 204), rejects with ApiError. */
export async function api(path, { method = "GET", body, headers = {}, auth = true, retry = true } = {}) {
  const all = { Accept: "application/json", ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  if (auth) Object.assign(all, authHeaders());
  let resp;
  try {
    resp = await fetch(path, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network_error", t("error.network"));
  }
  if (resp.status === 401 && auth && retry && tokens.access && (await refreshAccess())) {
    return api(path, { method, body, headers, auth, retry: false });
  }
  if (!resp.ok) {
    const error = await problemFrom(resp);
    if (resp.status === 401 && auth) document.dispatchEvent(new CustomEvent("unauthorized", { detail: error }));
    throw error;
  }
  if (resp.status === 204) return null;
  try {
    return await resp.json();
  } catch {
    throw new ApiError(resp.status, "bad_response", `HTTP ${resp.status}: not JSON`);
  }
}

/** Items of a list response, whatever envelope the endpoint uses. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== "object") return [];
  for (const key of ["items", "jobs", "readings", "transactions", "data", "results", "entries"]) {
    if (Array.isArray(body[key])) return body[key];
  }
  return [];
}

/**
 * Follow a Server-Sent Events stream with fetch (EventSource cannot send Authorization).
 * Calls onEvent({event, id, data}) per event, and onEvent({event: null, id, data: null}) for a
 * message with an id only (where the stream starts: resume from there); resolves when the server
 * closes the stream or `signal` aborts; rejects with ApiError on an HTTP error. onOpen is called once
 * the stream's headers arrive: the server has fixed where it starts, so what happens from then on
 * reaches onEvent.
 */
export async function followEvents(path, onEvent, signal, onOpen = () => {}) {
  let resp;
  try {
    resp = await fetch(path, { headers: { Accept: "text/event-stream", ...authHeaders() }, signal });
  } catch (err) {
    if (signal?.aborted) return;
    throw new ApiError(0, "network_error", t("error.network"), { cause: String(err) });
  }
  if (!resp.ok) throw await problemFrom(resp);
  onOpen();
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let current = { event: "message", id: null, data: [] };
  const dispatch = () => {
    if (current.data.length) {
      const raw = current.data.join("\n");
      let data;
      try {
        data = JSON.parse(raw);
      } catch {
        data = raw;
      }
      onEvent({ event: current.event, id: current.id, data });
    } else if (current.id !== null) {
      onEvent({ event: null, id: current.id, data: null });
    }
    current = { event: "message", id: null, data: [] };
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") dispatch();
        else if (line.startsWith(":")) continue; // keep-alive comment
        else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "data") current.data.push(value);
          else if (field === "event") current.event = value;
          else if (field === "id") current.id = value;
        }
      }
    }
  } catch (err) {
    if (!signal?.aborted) throw new ApiError(0, "network_error", t("error.network"), { cause: String(err) });
  }
}

/** Load a third-party script once (Stripe.js, Telegram's Mini App script); rejects on failure or timeout. */
const loadedScripts = new Map();
export function loadScript(src, timeoutMs = 8000) {
  if (!loadedScripts.has(src)) {
    loadedScripts.set(
      src,
      new Promise((resolve, reject) => {
        const el = document.createElement("script");
        el.src = src;
        el.async = true;
        const timer = setTimeout(() => reject(new Error(`timeout loading ${src}`)), timeoutMs);
        el.addEventListener("load", () => {
          clearTimeout(timer);
          resolve();
        });
        el.addEventListener("error", () => {
          clearTimeout(timer);
          reject(new Error(`failed to load ${src}`));
        });
        document.head.append(el);
      }),
    );
  }
  return loadedScripts.get(src);
}

/** Create an element with attributes/props and text or children (text is never parsed as HTML). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Show a message in a banner element: kind is "error", "info" or "ok"; empty text hides it. */
export function say(el, text, kind = "error") {
  el.textContent = text || "";
  el.className = `notice ${kind}`;
  el.hidden = !text;
}

/**
 * A banner (see `say`) whose message follows the language: `tell(() => t("key"), kind)` shows it,
 * `tell(null)` hides it, and `tell.again()` says the message showing again (after a language change).
 */
export function banner(el) {
  let last = null;
  const tell = (words, kind = "error") => {
    last = words ? { words, kind } : null;
    say(el, words ? words() : "", kind);
  };
  tell.again = () => {
    if (last) say(el, last.words(), last.kind);
  };
  return tell;
}

export function newIdempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sign up or log in (``mode`` is "signup" or "login") and keep the session's tokens. */
export async function signIn(mode, email, password) {
  tokens.save(await api(`/api/v1/auth/${mode}`, { method: "POST", body: { email, password }, auth: false }));
}

/** The stars a person can spend now (the wallet's balance less what open jobs hold). */
export async function availableStars() {
  return (await api("/api/v1/user/wallet")).available_stars;
}

/** Show the stars a person can spend now in ``el`` ("★ 3"); hide it when they cannot be read. */
export async function showStars(el) {
  try {
    el.textContent = `★ ${await availableStars()}`;
    el.hidden = false;
  } catch {
    el.hidden = true;
  }
}

/**
 * Start an app page behind the shared sign-in panel: ``#auth`` holds ``#auth-form`` (submitting it
 * signs up), ``#auth-email``, ``#auth-password`` and ``#login`` (logs in); ``#app`` is the page and
 * ``#logout`` ends the session. Once signed in (or at once, with a session a previous visit left)
 * ``showApp`` runs; when the session ends the panel shows again. ``notify`` hears what went wrong
 * (``null``: clear the last message).
 */
export function startAppPage(showApp, notify) {
  const $ = (id) => document.getElementById(id);
  let signingIn = false; // a double click on Sign up makes one account, not one and "email taken"
  const signInAs = async (mode) => {
    if (signingIn) return;
    signingIn = true;
    notify(null);
    try {
      await signIn(mode, $("auth-email").value.trim(), $("auth-password").value);
      await showApp();
    } catch (error) {
      notify(error);
    } finally {
      signingIn = false;
    }
  };
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signInAs("signup");
  });
  $("login").addEventListener("click", () => signInAs("login"));
  $("logout").addEventListener("click", () => {
    tokens.clear();
    location.reload();
  });
  document.addEventListener("unauthorized", () => {
    tokens.clear();
    $("app").hidden = true;
    $("auth").hidden = false;
  });
  if (!tokens.access) {
    $("auth").hidden = false;
    return;
  }
  showApp().catch((error) => {
    notify(error);
    $("auth").hidden = false;
  });
}

/** Send ``file`` with a presigned upload (``POST /api/v1/uploads/presign``'s answer): POST sends
 * its ``fields`` then the file as a multipart form, PUT the raw bytes with its ``headers``.
 * XMLHttpRequest, not fetch: it reports progress, as a percentage to ``onProgress``. */
export function uploadWithProgress(presigned, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(presigned.method, presigned.url);
    let body = file;
    if (presigned.method === "POST") {
      body = new FormData();
      for (const [name, value] of Object.entries(presigned.fields)) body.append(name, value);
      body.append("file", file);
    } else {
      for (const [name, value] of Object.entries(presigned.headers)) xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(Math.round((100 * event.loaded) / event.total));
    });
    // The status is for whoever debugs (the console); a person reads what to do next.
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      console.info(`[conjure] upload refused: HTTP ${xhr.status}`);
      reject(new Error(t("upload.refused")));
    });
    xhr.addEventListener("error", () => reject(new Error(t("upload.failed"))));
    xhr.send(body);
  });
}
