// Asking before an action that cannot be undone, in the page itself: no window.confirm, which some
// webviews (Telegram's among them) block or show without the page's language.

import { h } from "./api.js";
import { t } from "./i18n.js";

/**
 * Put a question with a confirm and a cancel button in place of `anchor` (the button that asked),
 * and resolve to whether the person confirmed. Focus goes to Cancel (the safe answer) and back to
 * `anchor` after a cancel; Escape cancels.
 *
 * @param {HTMLElement} anchor the button that was pressed (hidden while the question shows)
 * @param {object} words
 * @param {string | Array<string | Node>} words.question what the person is asked, in their language
 *   (parts: a name in it isolated, see `tIsolated`)
 * @param {string} words.yes the confirm button's label
 * @returns {Promise<boolean>}
 */
export function askFirst(anchor, { question, yes }) {
  return new Promise((resolve) => {
    const answer = (confirmed) => {
      box.remove();
      anchor.hidden = false;
      if (!confirmed) anchor.focus();
      resolve(confirmed);
    };
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => answer(false) }, t("confirm.cancel"));
    const box = h(
      "div",
      {
        class: "confirm",
        role: "group",
        onkeydown: (event) => {
          if (event.key === "Escape") answer(false);
        },
      },
      h("p", { class: "confirm-question" }, question),
      h(
        "div",
        { class: "confirm-actions" },
        h("button", { type: "button", class: "danger", onclick: () => answer(true) }, yes),
        cancel,
      ),
    );
    box.setAttribute("aria-label", box.querySelector(".confirm-question").textContent);
    anchor.hidden = true;
    anchor.after(box);
    cancel.focus();
  });
}
