// The account section: the ways to sign in (list, link, remove), API keys (account-keys.js),
// downloading one's data, and deleting the account. Each page that has it gives a panel to fill and
// what to do once the account is gone.

import "./account-i18n.js";
import { apiKeysSection } from "./account-keys.js";
import { api, banner, h, itemsOf, tokens, userMessage } from "./api.js";
import { askFirst } from "./confirm.js";
import { applyI18n, formatDate, t } from "./i18n.js";
import * as tg from "./telegram.js";

const label = (key) => h("span", { dataset: { i18n: key } }, t(key));

/**
 * Fill `panel` (the page's #account section) and return `{load, render, reset}`: `load()` reads the
 * sign-ins and keys again, `render()` redraws them in the current language, `reset()` empties the
 * section at sign-out (a new key's secret, typed passwords, messages) for whoever signs in next.
 *
 * @param {object} options
 * @param {HTMLElement} options.panel where the section goes
 * @param {() => void} options.onDeleted called once the account is deleted (the page signs out)
 */
export function mountAccount({ panel, onDeleted }) {
  let identities = [];
  const message = h("p", { id: "account-msg", class: "notice", role: "status", hidden: true });
  const list = h("ul", { id: "identities", class: "identities" });
  const email = h("input", { id: "link-email", type: "email", autocomplete: "email", required: true });
  const password = h("input", {
    id: "link-password-input",
    type: "password",
    autocomplete: "new-password",
    minlength: "8",
    required: true,
  });
  const linkForm = h(
    "form",
    { id: "link-password", class: "stack", novalidate: true, onsubmit: linkPassword },
    h("p", { class: "muted small", dataset: { i18n: "acct.link.password.hint" } }, t("acct.link.password.hint")),
    h("label", {}, label("auth.email"), email),
    h("label", {}, label("auth.password"), password),
    h("button", { type: "submit", class: "secondary", dataset: { i18n: "acct.link.submit" } }, t("acct.link.submit")),
  );
  const linkBox = h("details", { id: "link-password-box" }, h("summary", {}, label("acct.link.password")), linkForm);
  const telegramButton = h(
    "button",
    { id: "link-telegram", type: "button", class: "secondary", hidden: true, onclick: linkTelegram },
    label("acct.link.telegram"),
  );
  const exportButton = h(
    "button",
    { id: "export-data", type: "button", class: "secondary", onclick: downloadExport },
    label("acct.export"),
  );
  const confirmPassword = h("input", {
    id: "delete-password",
    type: "password",
    autocomplete: "current-password",
  });
  const passwordRow = h("label", { id: "delete-password-row" }, label("acct.delete.password"), confirmPassword);
  const deleteMessage = h("p", { id: "delete-msg", class: "notice", role: "alert", hidden: true });
  // Beside its button: the sign-ins' message sits above the API keys, out of sight on a phone.
  const exportMessage = h("p", { id: "export-msg", class: "notice", role: "status", hidden: true });
  const deleteButton = h(
    "button",
    { type: "submit", class: "danger", dataset: { i18n: "acct.delete.submit" } },
    t("acct.delete.submit"),
  );
  const keys = apiKeysSection();
  const freshHint = h("p", { id: "delete-fresh", class: "muted small", dataset: { i18n: "acct.delete.fresh" } }, t("acct.delete.fresh"));
  const deleteForm = h(
    "form",
    { id: "delete-account", class: "stack", novalidate: true, onsubmit: deleteAccount },
    h("p", { class: "small", dataset: { i18n: "acct.delete.warning" } }, t("acct.delete.warning")),
    passwordRow,
    freshHint,
    deleteMessage,
    deleteButton,
  );
  panel.append(
    h("h2", { dataset: { i18n: "acct.title" } }, t("acct.title")),
    h("h3", { dataset: { i18n: "acct.signins" } }, t("acct.signins")),
    h("p", { class: "muted small", dataset: { i18n: "acct.signins.hint" } }, t("acct.signins.hint")),
    list,
    linkBox,
    telegramButton,
    message,
    keys.element,
    h("div", { class: "account-row" }, exportButton, h("span", { class: "muted small", dataset: { i18n: "acct.export.hint" } }, t("acct.export.hint"))),
    exportMessage,
    h("details", { id: "delete-box", class: "danger-zone" }, h("summary", {}, label("acct.delete")), deleteForm),
  );

  // Messages follow the language: one that is showing is said again in the new one.
  const notice = banner(message);
  const deleteNotice = banner(deleteMessage);
  const exportNotice = banner(exportMessage);
  const hasPassword = () => identities.some((row) => row.provider === "password");

  function render() {
    const only = identities.length <= 1;
    list.replaceChildren(
      ...identities.map((row) =>
        h(
          "li",
          { dataset: { provider: row.provider } },
          h("span", { class: "identity-name" }, t(`acct.provider.${row.provider}`)),
          h("span", { class: "identity-subject muted small" }, row.provider === "password" ? row.subject : ""),
          h("span", { class: "muted small" }, t("acct.since", { date: formatDate(row.created_at) })),
          h(
            "button",
            {
              type: "button",
              class: "link",
              disabled: only,
              title: only ? t("acct.only") : null,
              onclick: (event) => unlink(row, event.currentTarget),
            },
            t("acct.remove"),
          ),
        ),
      ),
    );
    linkBox.hidden = hasPassword();
    // Telegram's signed initData exists only inside the Mini App; elsewhere there is nothing to link.
    telegramButton.hidden = !tg.initData() || identities.some((row) => row.provider === "telegram");
    passwordRow.hidden = !hasPassword();
    freshHint.hidden = hasPassword();
    keys.render();
    notice.again();
    deleteNotice.again();
    exportNotice.again();
    applyI18n(panel);
  }

  let loads = 0;

  async function load() {
    await Promise.all([loadIdentities(), keys.load()]);
  }

  async function loadIdentities() {
    const mine = ++loads;
    try {
      const rows = itemsOf(await api("/api/v1/me/identities?limit=100"));
      // A later load (another sign-in meanwhile) answers for the page; an earlier one is stale.
      if (mine !== loads) return;
      identities = rows;
      render();
    } catch (err) {
      notice(() => userMessage(err));
    }
  }

  async function link(body) {
    notice(null);
    const linked = await api("/api/v1/me/identities", { method: "POST", body });
    notice(() => t(linked.merged ? "acct.merged" : "acct.linked"), "ok");
    await loadIdentities();
  }

  async function linkPassword(event) {
    event.preventDefault();
    try {
      await link({ provider: "password", email: email.value.trim(), password: password.value });
      password.value = "";
      linkBox.open = false;
    } catch (err) {
      notice(() => userMessage(err));
    }
  }

  async function linkTelegram() {
    try {
      await link({ provider: "telegram", init_data: tg.initData() });
    } catch (err) {
      notice(() => userMessage(err));
    }
  }

  async function unlink(row, button) {
    const question = `${t(`acct.provider.${row.provider}`)}: ${t("acct.remove.confirm")}`;
    if (!(await askFirst(button, { question, yes: t("acct.remove.yes") }))) return;
    notice(null);
    try {
      await api(`/api/v1/me/identities/${row.id}`, { method: "DELETE" });
      notice(() => t("acct.removed"), "ok");
      await loadIdentities();
    } catch (err) {
      notice(() => userMessage(err));
    }
  }

  async function downloadExport() {
    exportNotice(null);
    try {
      const data = await api("/api/v1/me/export");
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const a = h("a", { href: url, download: "conjure-export.json", hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      exportNotice(() => t("acct.export.done"), "ok");
    } catch (err) {
      exportNotice(() => userMessage(err));
    }
  }

  async function deleteAccount(event) {
    event.preventDefault();
    deleteNotice(null);
    if (hasPassword() && !confirmPassword.value) {
      deleteNotice(() => t("acct.delete.password.empty"));
      confirmPassword.focus();
      return;
    }
    // Without a password nothing else stands between one tap and the end of the account: ask first.
    if (!hasPassword() && !(await askFirst(deleteButton, { question: t("acct.delete.confirm"), yes: t("acct.delete.yes") }))) {
      return;
    }
    const body = hasPassword() ? { password: confirmPassword.value } : undefined;
    try {
      // retry off: a refreshed token would pass as a fresh sign-in only by accident.
      await api("/api/v1/me", { method: "DELETE", body, retry: false });
    } catch (err) {
      deleteNotice(() => userMessage(err));
      return;
    }
    confirmPassword.value = "";
    tokens.clear();
    onDeleted();
  }

  function reset() {
    identities = [];
    loads += 1; // a load still under way belongs to the session that ended
    for (const input of [email, password, confirmPassword]) input.value = "";
    linkBox.open = false;
    panel.querySelector("#delete-box").open = false;
    for (const tell of [notice, deleteNotice, exportNotice]) tell(null);
    keys.reset();
    list.replaceChildren();
  }

  return { load, render, reset };
}
