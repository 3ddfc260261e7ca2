// Thai and English strings for both pages; the server's problem `detail` is shown as sent.

const MESSAGES = {
  en: {
    "app.title": "Conjure Tarot",
    "app.tagline": "Ask the cards. Pay only when the reading arrives.",
    "lang.toggle": "ไทย",
    "auth.signup": "Sign up",
    "auth.login": "Log in",
    "auth.logout": "Log out",
    "auth.email": "Email",
    "auth.password": "Password (8+ characters)",
    "auth.name": "Name (optional)",
    "auth.invite": "Invite code (optional)",
    "auth.submit.signup": "Create account",
    "auth.submit.login": "Log in",
    "auth.bonus": "New accounts get {n} free stars.",
    "auth.telegram": "Signing in with Telegram…",
    "auth.hello": "Hello, {name}",
    "wallet.title": "Wallet",
    "wallet.stars": "Stars",
    "wallet.coins": "Coins",
    "wallet.held": "Held",
    "wallet.refresh": "Refresh",
    "wallet.ledger": "Ledger",
    "ask.title": "Ask a question",
    "ask.placeholder": "What should I focus on in my career this month?",
    "ask.rule": "8–180 characters, one clear question. Costs 1 star, charged only on success.",
    "ask.count": "{n}/180",
    "ask.short": "Too short: at least 8 characters ({n} now).",
    "ask.long": "Too long: at most 180 characters ({n} now).",
    "ask.ok": "Ready to ask.",
    "ask.nostars": "You have no available stars: exchange coins or buy stars below.",
    "ask.submit": "Draw the cards",
    "progress.title": "Your reading",
    "step.queued": "Queued",
    "step.filtering": "Checking the question",
    "step.analyzing": "Understanding it",
    "step.drawing": "Drawing cards",
    "step.reading": "Writing the reading",
    "step.done": "Done",
    "status.queued": "Waiting for a reader…",
    "status.processing": "The cards are being read…",
    "status.succeeded": "Your reading is ready.",
    "status.failed": "The reading could not be made.",
    "status.dlq": "The reading failed after several tries; your star was returned.",
    "status.canceled": "The reading was canceled; your star was returned.",
    "status.released": "Your held star was returned.",
    "card.upright": "Upright",
    "card.reversed": "Reversed",
    "card.major": "Major arcana",
    "card.minor": "Minor arcana",
    "result.analysis": "Reading of your question",
    "history.title": "Past readings",
    "history.empty": "No readings yet.",
    "history.more": "Show more",
    "invite.title": "Invite friends",
    "invite.text": "Friends who sign up with your code earn you both coins.",
    "invite.copy": "Copy link",
    "invite.copied": "Copied!",
    "invite.total": "Friends invited: {n}",
    "exchange.title": "Exchange coins",
    "exchange.stars": "Stars to get",
    "exchange.cost": "Costs {coins} coins ({rate} coins per star).",
    "exchange.submit": "Exchange",
    "exchange.done": "Exchanged {coins} coins for {stars} star(s).",
    "buy.title": "Buy stars",
    "buy.bonus": "+{n} bonus",
    "buy.button": "Buy",
    "buy.off": "Payments are off on this server, so stars cannot be bought here yet.",
    "buy.nokey": "Payments are on but the server has no Stripe publishable key (STRIPE_PUBLISHABLE_KEY).",
    "buy.pay": "Pay {price}",
    "buy.cancel": "Cancel",
    "buy.paid": "Payment received: {n} stars added.",
    "buy.processing": "Payment is processing; stars arrive when it clears.",
    "error.network": "Cannot reach the server. Check your connection and try again.",
    "error.unexpected": "Unexpected response from the server ({status}).",
    "error.script": "Could not load {what}.",
    "admin.title": "Operator console",
    "admin.login": "Log in with an admin account",
    "admin.queue": "Queue",
    "admin.depth": "Queue depth",
    "admin.inflight": "In flight",
    "admin.jobs": "Recent jobs",
    "admin.dlq": "Dead-letter queue",
    "admin.dlq.empty": "The DLQ is empty.",
    "admin.redrive": "Re-drive",
    "admin.redriven": "Job {id} re-driven.",
    "admin.wallet": "User wallet and ledger",
    "admin.userid": "User id",
    "admin.lookup": "Look up",
    "admin.autorefresh": "Auto-refresh",
    "admin.refresh": "Refresh",
    "admin.nojobs": "No jobs yet.",
    "col.id": "Job",
    "col.kind": "Kind",
    "col.status": "Status",
    "col.attempts": "Tries",
    "col.duration": "Duration",
    "col.created": "Created",
    "col.user": "User",
    "col.error": "Error",
    "col.type": "Type",
    "col.amount": "Amount",
    "col.currency": "Currency",
    "col.when": "When",
    "col.actions": "",
  },
  th: {
    "app.title": "Conjure ไพ่ทาโรต์",
    "app.tagline": "ถามไพ่ได้เลย จ่ายเมื่อได้คำทำนายเท่านั้น",
    "lang.toggle": "EN",
    "auth.signup": "สมัครสมาชิก",
    "auth.login": "เข้าสู่ระบบ",
    "auth.logout": "ออกจากระบบ",
    "auth.email": "อีเมล",
    "auth.password": "รหัสผ่าน (8 ตัวอักษรขึ้นไป)",
    "auth.name": "ชื่อ (ไม่บังคับ)",
    "auth.invite": "รหัสเชิญ (ไม่บังคับ)",
    "auth.submit.signup": "สร้างบัญชี",
    "auth.submit.login": "เข้าสู่ระบบ",
    "auth.bonus": "บัญชีใหม่ได้รับดาวฟรี {n} ดวง",
    "auth.telegram": "กำลังเข้าสู่ระบบด้วย Telegram…",
    "auth.hello": "สวัสดี {name}",
    "wallet.title": "กระเป๋า",
    "wallet.stars": "ดาว",
    "wallet.coins": "เหรียญ",
    "wallet.held": "กันไว้",
    "wallet.refresh": "รีเฟรช",
    "wallet.ledger": "รายการเคลื่อนไหว",
    "ask.title": "ตั้งคำถาม",
    "ask.placeholder": "เดือนนี้ฉันควรโฟกัสเรื่องอะไรในการงาน?",
    "ask.rule": "8–180 ตัวอักษร คำถามเดียวที่ชัดเจน ใช้ 1 ดาว หักเมื่อทำนายสำเร็จเท่านั้น",
    "ask.count": "{n}/180",
    "ask.short": "สั้นเกินไป: อย่างน้อย 8 ตัวอักษร (ตอนนี้ {n})",
    "ask.long": "ยาวเกินไป: ไม่เกิน 180 ตัวอักษร (ตอนนี้ {n})",
    "ask.ok": "พร้อมถามแล้ว",
    "ask.nostars": "คุณไม่มีดาวที่ใช้ได้ แลกเหรียญหรือซื้อดาวด้านล่าง",
    "ask.submit": "เปิดไพ่",
    "progress.title": "คำทำนายของคุณ",
    "step.queued": "รอคิว",
    "step.filtering": "ตรวจคำถาม",
    "step.analyzing": "วิเคราะห์คำถาม",
    "step.drawing": "สุ่มไพ่",
    "step.reading": "เขียนคำทำนาย",
    "step.done": "เสร็จแล้ว",
    "status.queued": "กำลังรอหมอดู…",
    "status.processing": "กำลังอ่านไพ่…",
    "status.succeeded": "คำทำนายของคุณพร้อมแล้ว",
    "status.failed": "ไม่สามารถทำนายได้",
    "status.dlq": "ทำนายไม่สำเร็จหลังลองหลายครั้ง คืนดาวให้แล้ว",
    "status.canceled": "ยกเลิกการทำนายแล้ว คืนดาวให้แล้ว",
    "status.released": "คืนดาวที่กันไว้ให้แล้ว",
    "card.upright": "ไพ่ตั้ง",
    "card.reversed": "ไพ่กลับหัว",
    "card.major": "ไพ่ชุดใหญ่",
    "card.minor": "ไพ่ชุดเล็ก",
    "result.analysis": "การวิเคราะห์คำถาม",
    "history.title": "คำทำนายที่ผ่านมา",
    "history.empty": "ยังไม่มีคำทำนาย",
    "history.more": "ดูเพิ่ม",
    "invite.title": "ชวนเพื่อน",
    "invite.text": "เพื่อนที่สมัครด้วยรหัสของคุณ ได้รับเหรียญทั้งคู่",
    "invite.copy": "คัดลอกลิงก์",
    "invite.copied": "คัดลอกแล้ว!",
    "invite.total": "ชวนเพื่อนแล้ว: {n} คน",
    "exchange.title": "แลกเหรียญ",
    "exchange.stars": "จำนวนดาวที่ต้องการ",
    "exchange.cost": "ใช้ {coins} เหรียญ ({rate} เหรียญต่อดาว)",
    "exchange.submit": "แลก",
    "exchange.done": "แลก {coins} เหรียญ เป็น {stars} ดาวแล้ว",
    "buy.title": "ซื้อดาว",
    "buy.bonus": "+{n} โบนัส",
    "buy.button": "ซื้อ",
    "buy.off": "เซิร์ฟเวอร์นี้ยังไม่เปิดรับชำระเงิน จึงยังซื้อดาวไม่ได้",
    "buy.nokey": "เปิดรับชำระเงินแล้ว แต่เซิร์ฟเวอร์ยังไม่มี Stripe publishable key (STRIPE_PUBLISHABLE_KEY)",
    "buy.pay": "ชำระ {price}",
    "buy.cancel": "ยกเลิก",
    "buy.paid": "ได้รับการชำระเงินแล้ว: เพิ่ม {n} ดาว",
    "buy.processing": "กำลังดำเนินการชำระเงิน ดาวจะเข้าเมื่อเสร็จสิ้น",
    "error.network": "เชื่อมต่อเซิร์ฟเวอร์ไม่ได้ ตรวจสอบอินเทอร์เน็ตแล้วลองอีกครั้ง",
    "error.unexpected": "เซิร์ฟเวอร์ตอบกลับผิดปกติ ({status})",
    "error.script": "โหลด {what} ไม่สำเร็จ",
    "admin.title": "คอนโซลผู้ดูแล",
    "admin.login": "เข้าสู่ระบบด้วยบัญชีผู้ดูแล",
    "admin.queue": "คิว",
    "admin.depth": "งานรอคิว",
    "admin.inflight": "กำลังทำ",
    "admin.jobs": "งานล่าสุด",
    "admin.dlq": "คิวงานล้มเหลว (DLQ)",
    "admin.dlq.empty": "DLQ ว่าง",
    "admin.redrive": "ส่งใหม่",
    "admin.redriven": "ส่งงาน {id} ใหม่แล้ว",
    "admin.wallet": "กระเป๋าและรายการของผู้ใช้",
    "admin.userid": "รหัสผู้ใช้",
    "admin.lookup": "ค้นหา",
    "admin.autorefresh": "รีเฟรชอัตโนมัติ",
    "admin.refresh": "รีเฟรช",
    "admin.nojobs": "ยังไม่มีงาน",
    "col.id": "งาน",
    "col.kind": "ประเภท",
    "col.status": "สถานะ",
    "col.attempts": "ครั้ง",
    "col.duration": "ใช้เวลา",
    "col.created": "สร้างเมื่อ",
    "col.user": "ผู้ใช้",
    "col.error": "ข้อผิดพลาด",
    "col.type": "ชนิด",
    "col.amount": "จำนวน",
    "col.currency": "สกุล",
    "col.when": "เมื่อ",
    "col.actions": "",
  },
};

const LANG_KEY = "conjure.lang";

function initialLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && saved in MESSAGES) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("th") ? "th" : "en";
}

let lang = initialLang();

export function currentLang() {
  return lang;
}

/** The string for `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fill every `data-i18n` (text), `data-i18n-placeholder` and `data-i18n-title` element under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

/** Switch between Thai and English, remember the choice, and re-render static text. */
export function toggleLang() {
  lang = lang === "th" ? "en" : "th";
  localStorage.setItem(LANG_KEY, lang);
  applyI18n();
  document.dispatchEvent(new CustomEvent("langchange"));
}

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(lang === "th" ? "th-TH" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function formatTHB(satang) {
  return new Intl.NumberFormat(lang === "th" ? "th-TH" : "en-US", { style: "currency", currency: "THB" }).format(
    satang / 100,
  );
}
