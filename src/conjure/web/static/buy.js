// Buying stars, shared by the tarot page and PixelPop: the package list, a PaymentIntent per click,
// Stripe's Payment Element, and confirming with the server once Stripe says yes. Each page says
// what differs (how a package reads, its wording, where Stripe returns to, its haptics).

import { api, h, itemsOf, loadScript, newIdempotencyKey, say, userMessage } from "./api.js";
import { formatTHB, t } from "./i18n.js";

const STRIPE_SCRIPT = "https://js.stripe.com/v3/";
const $ = (id) => document.getElementById(id);
const nothing = () => {};

/**
 * Add the package list, the message line and the payment form to `panel` (the page's #buy section)
 * and return `loadPackages()`, which (re)draws the packages.
 *
 * @param {object} options
 * @param {HTMLElement} options.panel where the list and the form go (at its end)
 * @param {() => {stripe_publishable_key: string|null}} options.config the page's /web/config, read at click time
 * @param {(pkg: object) => Array<Node|string|null>} options.describe the package's text, before its buy button
 * @param {{off: string, unavailable: string, failed: string, paid: string}} options.keys i18n keys:
 *   payments off on the server, no publishable key, Stripe failing without a message, stars credited ({n})
 * @param {string} options.returnPath where Stripe sends the payer back after a redirecting method
 * @param {string} options.logPrefix what the page's console lines start with
 * @param {boolean} [options.packagesAuth] whether listing packages needs the session (PixelPop lists them signed out)
 * @param {() => void} [options.onClick] feedback when a package is chosen
 * @param {() => void} [options.onSuccess] feedback when the payment is confirmed
 * @param {() => Promise<void>} options.onPaid what to refresh once stars are bought (the wallet)
 */
export function checkout({
  panel,
  config,
  describe,
  keys,
  returnPath,
  logPrefix,
  packagesAuth = true,
  onClick = nothing,
  onSuccess = nothing,
  onPaid,
}) {
  let payment = null; // {stripe, elements, intentId, pkg} while the form is open
  let starting = false; // a package's payment is being set up: a double click starts one

  panel.append(
    h("ul", { id: "packages", class: "packages" }),
    h("p", { id: "buy-msg", class: "notice", hidden: true }),
    h(
      "form",
      { id: "pay-form", class: "stack", hidden: true },
      h("div", { id: "payment-element" }),
      h(
        "div",
        { class: "row" },
        h("button", { id: "pay-submit", type: "submit", class: "primary" }),
        h("button", { id: "pay-cancel", type: "button", class: "link", dataset: { i18n: "buy.cancel" } }, t("buy.cancel")),
      ),
    ),
  );

  async function loadPackages() {
    try {
      const body = await api("/api/v1/payment/packages", { auth: packagesAuth });
      const packages = Array.isArray(body) ? body : body.packages || itemsOf(body);
      $("packages").replaceChildren(
        ...packages.map((pkg) =>
          h(
            "li",
            { class: "package" },
            ...describe(pkg),
            h("span", { class: "price" }, formatTHB(pkg.price)),
            h("button", { type: "button", class: "secondary", dataset: { package: pkg.id }, onclick: () => buy(pkg) }, t("buy.button")),
          ),
        ),
      );
    } catch (err) {
      say($("buy-msg"), userMessage(err));
    }
  }

  async function buy(pkg) {
    if (starting) return;
    starting = true;
    try {
      await startPayment(pkg);
    } finally {
      starting = false;
    }
  }

  async function startPayment(pkg) {
    say($("buy-msg"), "");
    onClick();
    let intent;
    try {
      intent = await api("/api/v1/payment/create-intent", {
        method: "POST",
        body: { package: pkg.id },
        headers: { "Idempotency-Key": newIdempotencyKey() },
      });
    } catch (err) {
      const off = err.code === "payments_not_configured";
      say($("buy-msg"), off ? t(keys.off) : userMessage(err), off ? "info" : "error");
      return;
    }
    const key = config().stripe_publishable_key;
    if (!key) {
      console.info(`${logPrefix} payments are on but STRIPE_PUBLISHABLE_KEY is not set`);
      say($("buy-msg"), t(keys.unavailable), "info");
      return;
    }
    try {
      await loadScript(STRIPE_SCRIPT);
    } catch {
      say($("buy-msg"), t("error.script"));
      return;
    }
    closePayment(); // another package chosen while a form was open: one form, for the package chosen last
    const stripe = window.Stripe(key);
    const elements = stripe.elements({ clientSecret: intent.client_secret });
    elements.create("payment").mount("#payment-element");
    payment = { stripe, elements, intentId: intent.payment_intent_id || intent.id, pkg };
    $("pay-submit").textContent = t("buy.pay", { price: formatTHB(intent.amount ?? pkg.price) });
    $("pay-form").hidden = false;
  }

  async function submitPayment(event) {
    event.preventDefault();
    const current = payment;
    if (!current) return;
    $("pay-submit").disabled = true;
    try {
      const { error, paymentIntent } = await current.stripe.confirmPayment({
        elements: current.elements,
        confirmParams: { return_url: `${location.origin}${returnPath}` },
        redirect: "if_required",
      });
      if (error) {
        // Stripe's own messages are written for the person paying ("Your card was declined.").
        say($("buy-msg"), error.message || t(keys.failed));
        return;
      }
      const confirmed = await api("/api/v1/payment/confirm", {
        method: "POST",
        body: { payment_intent_id: paymentIntent?.id || current.intentId },
      });
      const stars = (confirmed.stars_purchased ?? current.pkg.stars) + (confirmed.stars_bonus ?? current.pkg.bonus_stars ?? 0);
      // Not credited yet (e.g. PromptPay still processing): the webhook credits the stars later.
      say($("buy-msg"), confirmed.credited === false ? t("buy.processing") : t(keys.paid, { n: stars }), "ok");
      onSuccess();
      closePayment();
      await onPaid();
    } catch (err) {
      say($("buy-msg"), userMessage(err));
    } finally {
      $("pay-submit").disabled = false;
    }
  }

  function closePayment() {
    $("pay-form").hidden = true;
    $("payment-element").replaceChildren();
    payment = null;
  }

  $("pay-form").addEventListener("submit", submitPayment);
  $("pay-cancel").addEventListener("click", closePayment);
  return { loadPackages };
}
