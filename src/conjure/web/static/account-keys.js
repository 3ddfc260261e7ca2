// The account section's API keys: the list (name, prefix, dates; never a secret), creating one (its
// secret shown once, with a copy button) and revoking one after asking.

import { api, banner, h, userMessage } from "./api.js";
import { askFirst } from "./confirm.js";
import { formatDate, isolate, isolated, t, tIsolated } from "./i18n.js";

const KEYS = "/api/v1/auth/api-keys";
const PAGE = 50;
const NAME_MAX = 100; // ApiKeyIn.name's max_length

const words = (key, vars) => h("span", { dataset: { i18n: key } }, t(key, vars));

/**
 * Build the API keys part of the account section and return `{element, load, render, reset}`:
 * `load()` reads the keys again, `render()` redraws them in the current language, `reset()` forgets
 * them and any new key's secret (at sign-out).
 */
export function apiKeysSection() {
  let keys = [];
  let total = 0;
  let creating = false; // a double click (or Enter twice) makes one key, not two
  // Bumped at sign-out: an answer that arrives after it belongs to the session that ended (a new
  // key's secret above all), never to whoever signs in next on this screen.
  let session = 0;
  const message = h("p", { id: "api-keys-msg", class: "notice", role: "status", hidden: true });
  const list = h("ul", { id: "api-keys", class: "identities api-keys" });
  const empty = h("p", { id: "api-keys-empty", class: "muted small", hidden: true });
  const more = h("button", { id: "api-keys-more", type: "button", class: "link", hidden: true, onclick: loadMore });
  const name = h("input", {
    id: "api-key-name",
    type: "text",
    autocomplete: "off",
    maxlength: String(NAME_MAX),
    "aria-describedby": "api-keys-msg",
  });
  const createButton = h("button", { id: "api-key-create-submit", type: "submit", class: "secondary" });
  const createForm = h(
    "form",
    { id: "api-key-create", class: "row", novalidate: true, onsubmit: create },
    h("label", { class: "grow" }, words("acct.keys.name"), name),
    createButton,
  );
  const secret = h("input", { id: "api-key-secret", class: "mono", type: "text", readonly: true, spellcheck: "false" });
  const copyButton = h("button", { id: "api-key-copy", type: "button", class: "secondary", onclick: copySecret });
  const newTitle = h("strong", { id: "api-key-new-title" });
  const newWarning = h("p", { class: "small", dataset: { i18n: "acct.keys.new.warning" } }, t("acct.keys.new.warning"));
  const doneButton = h("button", { id: "api-key-done", type: "button", class: "link", onclick: forgetSecret });
  const fresh = h(
    "div",
    { id: "api-key-new", class: "new-key", role: "region", "aria-labelledby": "api-key-new-title", tabindex: "-1", hidden: true },
    newTitle,
    newWarning,
    h("div", { class: "new-key-row" }, secret, copyButton),
    doneButton,
  );
  const element = h(
    "div",
    { id: "api-keys-box" },
    h("h3", { dataset: { i18n: "acct.keys" } }, t("acct.keys")),
    h("p", { class: "muted small", dataset: { i18n: "acct.keys.hint" } }, t("acct.keys.hint")),
    list,
    empty,
    more,
    fresh,
    createForm,
    message,
  );
  let freshName = "";
  // Messages follow the language: one that is showing is said again in the new one.
  const notice = banner(message);

  function keyRow(key) {
    const revoked = Boolean(key.revoked_at);
    const dates = [t("acct.keys.created", { date: formatDate(key.created_at) })];
    dates.push(key.last_used_at ? t("acct.keys.used", { date: formatDate(key.last_used_at) }) : t("acct.keys.unused"));
    if (key.rate_limit) dates.push(t("acct.keys.limit", { limit: key.rate_limit }));
    const row = h(
      "li",
      { class: revoked ? "revoked" : null, dataset: { keyId: key.id } },
      // Isolated: a name stored before names were checked may hold U+202E.
      h("span", { class: "identity-name key-name" }, isolated(key.name)),
      h(
        "span",
        { class: "muted small key-dates" },
        // The prefix is what the server keeps in clear: enough to tell keys apart, useless to sign in.
        h("code", { class: "key-prefix", title: t("acct.keys.prefix") }, `${key.prefix}_…`),
        ` · ${dates.join(" · ")}`,
      ),
    );
    if (revoked) {
      row.append(h("span", { class: "badge key-revoked" }, t("acct.keys.revoked", { date: formatDate(key.revoked_at) })));
    } else {
      const revoke = h("button", { type: "button", class: "link", "aria-label": t("acct.keys.revoke.named", { name: key.name }) }, t("acct.keys.revoke"));
      revoke.addEventListener("click", () => revokeKey(key, revoke));
      row.append(revoke);
    }
    return row;
  }

  function render() {
    list.replaceChildren(...keys.map(keyRow));
    empty.textContent = t("acct.keys.empty");
    empty.hidden = keys.length > 0;
    more.textContent = t("acct.keys.more");
    more.hidden = keys.length >= total;
    name.placeholder = t("acct.keys.name.placeholder");
    createButton.textContent = t(creating ? "acct.keys.creating" : "acct.keys.create");
    copyButton.textContent = t("acct.keys.copy");
    doneButton.textContent = t("acct.keys.done");
    newTitle.textContent = t("acct.keys.new.title", { name: freshName });
    secret.setAttribute("aria-label", t("acct.keys.new.label"));
    notice.again();
  }

  let loads = 0;

  async function load() {
    const mine = ++loads;
    try {
      const page = await api(`${KEYS}?limit=${PAGE}&offset=0`);
      if (mine !== loads) return; // a later load answers for the page
      keys = page.items;
      total = page.total;
      render();
    } catch (err) {
      if (mine === loads) notice(() => userMessage(err));
    }
  }

  async function loadMore() {
    const mine = session;
    try {
      const page = await api(`${KEYS}?limit=${PAGE}&offset=${keys.length}`);
      if (mine !== session) return;
      const seen = new Set(keys.map((key) => key.id));
      keys = [...keys, ...page.items.filter((key) => !seen.has(key.id))];
      total = page.total;
      render();
    } catch (err) {
      if (mine === session) notice(() => userMessage(err));
    }
  }

  /** A refusal in words: a name the API refuses says what a name may hold, not "check your input". */
  function createError(err) {
    const fields = Array.isArray(err?.body?.errors) ? err.body.errors.map((e) => String(e.field)) : [];
    if (err?.code === "validation_error" && fields.includes("name")) return t("acct.keys.name.invalid");
    return userMessage(err);
  }

  async function create(event) {
    event.preventDefault();
    if (creating) return;
    const wanted = name.value.trim();
    if (!wanted) {
      notice(() => t("acct.keys.name.empty"));
      name.focus();
      return;
    }
    creating = true;
    createButton.disabled = true;
    render();
    notice(null);
    const mine = session;
    try {
      const made = await api(KEYS, { method: "POST", body: { name: wanted } });
      if (mine !== session) return; // signed out meanwhile: its secret is not for the next person
      name.value = "";
      showSecret(made);
      await load();
    } catch (err) {
      if (mine !== session) return;
      notice(() => createError(err));
      name.focus();
    } finally {
      creating = false;
      createButton.disabled = false;
      render();
    }
  }

  function showSecret(made) {
    freshName = made.name;
    secret.value = made.key;
    fresh.hidden = false;
    render();
    fresh.focus();
    secret.select();
  }

  /** Take the secret off the page once the person has it (it is never shown again). */
  function forgetSecret() {
    hideSecret();
    name.focus();
  }

  function hideSecret() {
    secret.value = "";
    freshName = "";
    fresh.hidden = true;
  }

  /** Forget what this session showed (on sign-out: the next person at this screen must not see it). */
  function reset() {
    hideSecret();
    session += 1;
    loads += 1; // a load still under way belongs to the session that ended
    keys = [];
    total = 0;
    name.value = "";
    notice(null);
    render();
  }

  async function copySecret() {
    if (!secret.value) return;
    try {
      await navigator.clipboard.writeText(secret.value);
    } catch {
      secret.select();
      document.execCommand("copy"); // older webviews (Telegram on some Androids)
    }
    copyButton.textContent = t("acct.keys.copied");
    setTimeout(() => {
      copyButton.textContent = t("acct.keys.copy");
    }, 1500);
  }

  async function revokeKey(key, button) {
    const sure = await askFirst(button, {
      question: tIsolated("acct.keys.revoke.confirm", { name: key.name }),
      yes: t("acct.keys.revoke.yes"),
    });
    if (!sure) return;
    notice(null);
    const mine = session;
    try {
      await api(`${KEYS}/${key.id}`, { method: "DELETE" });
      if (mine !== session) return;
      notice(() => t("acct.keys.revoked.done", { name: isolate(key.name) }), "ok");
      await load();
      list.querySelector(`[data-key-id="${key.id}"]`)?.setAttribute("tabindex", "-1");
      list.querySelector(`[data-key-id="${key.id}"]`)?.focus();
    } catch (err) {
      if (mine !== session) return;
      notice(() => userMessage(err));
    }
  }

  render();
  return { element, load, render, reset };
}
