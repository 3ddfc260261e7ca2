// The plans & billing section: the current plan and its allowance, the plans (Stripe Checkout to
// subscribe, a plan change in place), cancel/resume, Stripe's customer portal, and the invoices.

import { api, h, itemsOf, newIdempotencyKey, say, userMessage } from "./api.js";
import { addMessages, formatDate, formatTHB, t } from "./i18n.js";

addMessages({
  en: {
    "billing.title": "Plan & billing",
    "billing.free": "You are on the free plan.",
    "billing.current": "Your plan: {plan} ({status}).",
    "billing.renews": "Renews on {date}.",
    "billing.ends": "Ends on {date}; it will not renew.",
    "billing.grace": "Your last payment failed. Update your card before {date} to keep {plan}.",
    "billing.next": "Changes to {plan} at the renewal.",
    "billing.allowance": "{n} plan stars left, spent before bought stars; they expire {date}.",
    "billing.per_month": "{price} / month",
    "billing.per_year": "{price} / year",
    "billing.stars": "★ {n} stars every month",
    "billing.subscribe": "Subscribe",
    "billing.switch": "Switch",
    "billing.yours": "Your plan",
    "billing.cancel": "Cancel at period end",
    "billing.resume": "Keep my plan",
    "billing.portal": "Payment method & receipts",
    "billing.invoices": "Invoices",
    "billing.no_invoices": "No invoices yet.",
    "billing.view": "View",
    "billing.pdf": "PDF",
    "billing.redirecting": "Opening Stripe Checkout…",
    "billing.thanks": "Thank you! Your plan starts as soon as Stripe confirms the payment.",
    "billing.welcome": "Thank you! {plan} is yours: its stars are in your wallet.",
    "billing.canceled_checkout": "Checkout was canceled; nothing was charged.",
    "billing.changed_up": "Upgraded to {plan}: the difference is billed now and its stars added.",
    "billing.changed_down": "{plan} starts at your next renewal.",
    "billing.off": "Subscriptions are not available on this server yet.",
    "limit.staging_images_per_month": "{n} staged photos a month",
    "limit.assistant_daily_messages": "{n} assistant messages a day",
    "limit.queue_lane": "{v} queue",
    "lane.standard": "Standard",
    "lane.fast": "Fast",
    "lane.priority": "Priority",
    "status.active": "active",
    "status.trialing": "trial",
    "status.past_due": "payment due",
    "status.canceled": "canceled",
    "status.incomplete": "awaiting payment",
    "status.unpaid": "unpaid",
    "invoice.paid": "Paid",
    "invoice.open": "Due",
    "invoice.void": "Void",
    "invoice.uncollectible": "Unpaid",
    "problem.already_subscribed": "You are already on this plan.",
    "problem.no_subscription": "You have no active subscription.",
    "problem.no_billing_account": "Subscribe to a plan first.",
    "problem.unknown_plan": "That plan is not available.",
  },
  th: {
    "billing.title": "แพ็กเกจและการชำระเงิน",
    "billing.free": "คุณใช้แพ็กเกจฟรีอยู่",
    "billing.current": "แพ็กเกจของคุณ: {plan} ({status})",
    "billing.renews": "ต่ออายุวันที่ {date}",
    "billing.ends": "สิ้นสุดวันที่ {date} และจะไม่ต่ออายุ",
    "billing.grace": "การชำระเงินครั้งล่าสุดไม่สำเร็จ โปรดอัปเดตบัตรก่อน {date} เพื่อใช้ {plan} ต่อ",
    "billing.next": "จะเปลี่ยนเป็น {plan} เมื่อต่ออายุรอบถัดไป",
    "billing.allowance": "เหลือดาวจากแพ็กเกจ {n} ดวง ใช้ก่อนดาวที่ซื้อ หมดอายุ {date}",
    "billing.per_month": "{price} / เดือน",
    "billing.per_year": "{price} / ปี",
    "billing.stars": "★ {n} ดวงทุกเดือน",
    "billing.subscribe": "สมัคร",
    "billing.switch": "เปลี่ยน",
    "billing.yours": "แพ็กเกจปัจจุบัน",
    "billing.cancel": "ยกเลิกเมื่อสิ้นรอบ",
    "billing.resume": "ใช้แพ็กเกจต่อ",
    "billing.portal": "วิธีชำระเงินและใบเสร็จ",
    "billing.invoices": "ใบแจ้งหนี้",
    "billing.no_invoices": "ยังไม่มีใบแจ้งหนี้",
    "billing.view": "ดู",
    "billing.pdf": "PDF",
    "billing.redirecting": "กำลังเปิดหน้าชำระเงินของ Stripe…",
    "billing.thanks": "ขอบคุณ! แพ็กเกจจะเริ่มทันทีที่ Stripe ยืนยันการชำระเงิน",
    "billing.welcome": "ขอบคุณ! คุณได้แพ็กเกจ {plan} แล้ว ดาวของแพ็กเกจอยู่ในกระเป๋าของคุณ",
    "billing.canceled_checkout": "ยกเลิกการชำระเงินแล้ว ไม่มีการเรียกเก็บเงิน",
    "billing.changed_up": "อัปเกรดเป็น {plan} แล้ว เรียกเก็บส่วนต่างและเพิ่มดาวให้ทันที",
    "billing.changed_down": "{plan} จะเริ่มเมื่อต่ออายุรอบถัดไป",
    "billing.off": "เซิร์ฟเวอร์นี้ยังไม่เปิดให้สมัครแพ็กเกจ",
    "limit.staging_images_per_month": "แต่งห้อง {n} ภาพต่อเดือน",
    "limit.assistant_daily_messages": "ข้อความผู้ช่วย {n} ข้อความต่อวัน",
    "limit.queue_lane": "คิว{v}",
    "lane.standard": "ปกติ",
    "lane.fast": "เร็ว",
    "lane.priority": "ด่วนพิเศษ",
    "status.active": "ใช้งานอยู่",
    "status.trialing": "ทดลองใช้",
    "status.past_due": "ค้างชำระ",
    "status.canceled": "ยกเลิกแล้ว",
    "status.incomplete": "รอชำระเงิน",
    "status.unpaid": "ยังไม่ชำระ",
    "invoice.paid": "ชำระแล้ว",
    "invoice.open": "รอชำระ",
    "invoice.void": "ยกเลิก",
    "invoice.uncollectible": "เก็บเงินไม่ได้",
    "problem.already_subscribed": "คุณใช้แพ็กเกจนี้อยู่แล้ว",
    "problem.no_subscription": "คุณยังไม่มีแพ็กเกจที่ใช้งานอยู่",
    "problem.no_billing_account": "โปรดสมัครแพ็กเกจก่อน",
    "problem.unknown_plan": "ไม่มีแพ็กเกจนี้",
  },
});

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["active", "trialing", "past_due"]);

function statusWord(status) {
  const key = `status.${status}`;
  const text = t(key);
  return text === key ? status : text;
}

function limitLines(limits) {
  return Object.entries(limits || {}).map(([name, value]) => {
    const v = name === "queue_lane" ? t(`lane.${value}`) : value;
    const key = `limit.${name}`;
    const text = t(key, { n: value, v });
    return h("li", {}, text === key ? `${name}: ${value}` : text);
  });
}

/**
 * Build the billing section inside `panel` and return `load()`, which (re)draws it.
 * `onChange` runs after anything that may change the wallet (an upgrade adds stars).
 */
export function billingSection({ panel, onChange }) {
  let plans = [];
  let current = null;

  panel.append(
    h("p", { id: "billing-current" }),
    h("p", { id: "billing-allowance", class: "muted small", hidden: true }),
    h("p", { id: "billing-msg", class: "notice", hidden: true }),
    h("ul", { id: "plans", class: "plans" }),
    h(
      "div",
      { class: "row billing-actions" },
      h("button", { id: "billing-portal", type: "button", class: "secondary", hidden: true, onclick: () => openPortal() }),
      h("button", { id: "billing-cancel", type: "button", class: "link", hidden: true, onclick: () => setCancel(true) }),
      h("button", { id: "billing-resume", type: "button", class: "secondary", hidden: true, onclick: () => setCancel(false) }),
    ),
    h("h3", { id: "invoices-title" }),
    h("ul", { id: "invoices", class: "invoices" }),
  );

  function drawCurrent() {
    const sub = current;
    const live = sub && ACTIVE.has(sub.status);
    const plan = plans.find((p) => p.id === sub?.plan);
    const name = plan?.name || sub?.plan || "";
    const lines = [];
    if (!sub || sub.status === "none" || !live) {
      lines.push(t("billing.free"));
    } else {
      lines.push(t("billing.current", { plan: name, status: statusWord(sub.status) }));
      if (sub.grace_until) lines.push(t("billing.grace", { date: formatDate(sub.grace_until), plan: name }));
      else if (sub.cancel_at_period_end) lines.push(t("billing.ends", { date: formatDate(sub.current_period_end) }));
      else if (sub.current_period_end) lines.push(t("billing.renews", { date: formatDate(sub.current_period_end) }));
      const next = plans.find((p) => p.id === sub.next_plan);
      if (next) lines.push(t("billing.next", { plan: next.name }));
    }
    $("billing-current").textContent = lines.join(" ");
    const left = sub?.allowance?.remaining ?? 0;
    $("billing-allowance").hidden = !left;
    $("billing-allowance").textContent = left
      ? t("billing.allowance", { n: left, date: formatDate(sub.allowance.next_expiry) })
      : "";
    $("billing-portal").hidden = !sub || sub.status === "none";
    $("billing-cancel").hidden = !live || sub.cancel_at_period_end;
    $("billing-resume").hidden = !live || !sub.cancel_at_period_end;
    $("billing-portal").textContent = t("billing.portal");
    $("billing-cancel").textContent = t("billing.cancel");
    $("billing-resume").textContent = t("billing.resume");
  }

  function drawPlans() {
    const live = current && ACTIVE.has(current.status);
    $("plans").replaceChildren(
      ...plans.map((plan) => {
        const mine = live ? current.plan === plan.id : plan.free;
        const price = plan.free ? "" : t(plan.interval === "year" ? "billing.per_year" : "billing.per_month", { price: formatTHB(plan.price) });
        const button = plan.free
          ? null
          : h(
              "button",
              {
                type: "button",
                class: mine ? "secondary" : "primary",
                disabled: mine,
                dataset: { plan: plan.id },
                onclick: () => subscribe(plan),
              },
              mine ? t("billing.yours") : live ? t("billing.switch") : t("billing.subscribe"),
            );
        return h(
          "li",
          { class: mine ? "plan current" : "plan", dataset: { plan: plan.id } },
          h("strong", {}, plan.name),
          price ? h("span", { class: "price" }, price) : null,
          plan.monthly_allowance ? h("span", { class: "allowance" }, t("billing.stars", { n: plan.monthly_allowance })) : null,
          h("ul", { class: "limits" }, ...limitLines(plan.limits)),
          button,
        );
      }),
    );
  }

  function drawInvoices(page) {
    $("invoices-title").textContent = t("billing.invoices");
    const items = itemsOf(page);
    if (!items.length) {
      $("invoices").replaceChildren(h("li", { class: "muted small" }, t("billing.no_invoices")));
      return;
    }
    $("invoices").replaceChildren(
      ...items.map((inv) => {
        const status = t(`invoice.${inv.status}`);
        return h(
          "li",
          { class: "invoice", dataset: { invoice: inv.id } },
          h("span", {}, formatDate(inv.created_at)),
          h("span", { class: "muted" }, inv.number || ""),
          h("span", {}, formatTHB(inv.amount_paid || inv.amount_due)),
          h("span", { class: `invoice-status ${inv.status}` }, status.startsWith("invoice.") ? inv.status : status),
          inv.hosted_invoice_url ? h("a", { href: inv.hosted_invoice_url, target: "_blank", rel: "noopener" }, t("billing.view")) : null,
          inv.invoice_pdf ? h("a", { href: inv.invoice_pdf, target: "_blank", rel: "noopener" }, t("billing.pdf")) : null,
        );
      }),
    );
  }

  async function load() {
    try {
      const [planList, sub, invoices] = await Promise.all([
        api("/api/v1/billing/plans", { auth: false }),
        api("/api/v1/billing/subscription"),
        api("/api/v1/billing/invoices?limit=12"),
      ]);
      plans = planList;
      current = sub;
      drawCurrent();
      drawPlans();
      drawInvoices(invoices);
    } catch (err) {
      say($("billing-msg"), userMessage(err));
    }
  }

  function problem(err) {
    const off = err.code === "payments_not_configured";
    say($("billing-msg"), off ? t("billing.off") : userMessage(err), off ? "info" : "error");
  }

  // One plan action at a time: a double click on Subscribe opens one Checkout Session (and changes
  // a plan once). Kept while the page leaves for Stripe; a page restored from the back/forward cache
  // starts free again.
  let busy = false;
  window.addEventListener("pageshow", () => {
    busy = false;
  });

  async function once(action) {
    if (busy) return;
    busy = true;
    let leaving = false;
    try {
      leaving = await action();
    } finally {
      busy = leaving === true;
    }
  }

  const subscribe = (plan) => once(() => subscribeTo(plan));
  const setCancel = (cancel) => once(() => changeRenewal(cancel));
  const openPortal = () => once(goToPortal);

  /** Resolves to true when the page is on its way to Stripe. */
  async function subscribeTo(plan) {
    say($("billing-msg"), "");
    try {
      const result = await api("/api/v1/billing/subscribe", {
        method: "POST",
        body: { plan: plan.id },
        headers: { "Idempotency-Key": newIdempotencyKey() },
      });
      if (result.flow === "checkout" && result.url) {
        say($("billing-msg"), t("billing.redirecting"), "info");
        location.assign(result.url);
        return true;
      }
      const key = result.change === "downgrade" ? "billing.changed_down" : "billing.changed_up";
      say($("billing-msg"), t(key, { plan: plan.name }), "ok");
      await load();
      await onChange();
    } catch (err) {
      problem(err);
    }
    return false;
  }

  async function changeRenewal(cancel) {
    say($("billing-msg"), "");
    try {
      current = await api(`/api/v1/billing/${cancel ? "cancel" : "resume"}`, { method: "POST" });
      drawCurrent();
      drawPlans();
    } catch (err) {
      problem(err);
    }
  }

  async function goToPortal() {
    try {
      const portal = await api("/api/v1/billing/portal", { method: "POST" });
      location.assign(portal.url);
      return true;
    } catch (err) {
      problem(err);
      return false;
    }
  }

  /** Coming back from Checkout: say how it went, and look again while Stripe's webhook lands. */
  async function returned() {
    const params = new URLSearchParams(location.search);
    const outcome = params.get("checkout");
    if (!outcome && location.pathname !== "/billing") return;
    panel.scrollIntoView({ block: "start" });
    if (outcome === "canceled") say($("billing-msg"), t("billing.canceled_checkout"), "info");
    if (outcome !== "success") return;
    const active = () => current && ACTIVE.has(current.status);
    if (!active()) say($("billing-msg"), t("billing.thanks"), "ok");
    for (let i = 0; i < 10 && !active(); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await load();
    }
    if (active()) {
      const plan = plans.find((p) => p.id === current.plan);
      say($("billing-msg"), t("billing.welcome", { plan: plan?.name || current.plan }), "ok");
    }
    await onChange();
  }

  return { load, returned };
}
