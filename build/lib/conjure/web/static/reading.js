// A tarot reading on screen: the steps as they happen, the cards dealt and flipped one by one, the
// reading itself; everything in the chosen language. The offline reader finishes in ~25 ms, so each
// step and each card is held on screen for a moment (a timeline) instead of all appearing at once.

import { api, h } from "./api.js";
import { cardBackSvg, cardFaceSvg } from "./cards.js";
import { currentLang, has, t, tag } from "./i18n.js";

const $ = (id) => document.getElementById(id);
export const STEPS = ["queued", "filtering", "analyzing", "drawing", "reading", "done"];
const REDUCED = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
// Long enough to read a step's name and watch a card turn; short enough that 5 cards take ~5 s.
const PACE = REDUCED ? { step: 120, card: 160 } : { step: 550, card: 800 };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the deck's Thai words (names, themes), loaded once ---------------------------------------

let deckPromise = null;
const deck = new Map();

/** Load the deck's bilingual names and themes (cached by the browser too); never rejects. */
export function loadDeck() {
  deckPromise ??= api("/api/v1/web/deck", { auth: false })
    .then((body) => {
      for (const card of body.cards || []) deck.set(card.id, card);
    })
    .catch(() => {
      deckPromise = null; // try again next time; the reading's own fields still name the cards
    });
  return deckPromise;
}

const isReversed = (card) => String(card.orientation || "").toLowerCase() === "reversed" || card.reversed === true;

export function cardName(card) {
  const known = deck.get(card.card_id);
  if (currentLang() === "th") return card.name_th || known?.name_th || card.name || "?";
  return card.name || known?.name || "?";
}

function cardGist(card) {
  const known = deck.get(card.card_id);
  if (currentLang() === "th") return known?.theme_th || "";
  const side = isReversed(card) ? known?.reversed : known?.upright;
  const keywords = Array.isArray(card.keywords) && card.keywords.length ? card.keywords : side?.keywords || [];
  return keywords.join(" · ");
}

function positionLabel(card, i) {
  if (currentLang() === "th" && card.position_label_th) return card.position_label_th;
  return card.position_label || card.position || String(i + 1);
}

// ---- one reading on screen -----------------------------------------------------------------------

/** The reading panel for one job; events are queued on a timeline so each one is seen. */
export class ReadingView {
  constructor(question, { paced = true } = {}) {
    this.paced = paced;
    this.tail = Promise.resolve();
    this.closed = false;
    this.lastStep = null;
    this.dealt = false;
    this.cards = [];
    this.reset(question);
  }

  /** Run `fn` after everything queued so far, then hold the screen for `holdMs`. */
  queue(fn, holdMs = 0) {
    this.tail = this.tail.then(async () => {
      if (this.closed) return;
      await fn();
      if (this.paced && holdMs) await sleep(holdMs);
    });
    return this.tail;
  }

  close() {
    this.closed = true;
  }

  reset(question) {
    $("reading").hidden = false;
    $("reading-question").textContent = question ? `“${question}”` : "";
    $("reading-status").textContent = "";
    $("reading-error").hidden = true;
    $("analysis").hidden = true;
    $("analysis").replaceChildren();
    $("cards").replaceChildren();
    $("reading-text").hidden = true;
    $("reading-text").replaceChildren();
    for (const li of $("steps").children) li.className = "";
  }

  /** A step as it really happened; shown no earlier than the previous one has been seen. */
  step(step) {
    if (!STEPS.includes(step) || step === this.lastStep) return;
    if (STEPS.indexOf(step) < STEPS.indexOf(this.lastStep)) return;
    this.lastStep = step;
    this.queue(() => markStep(step), step === "done" ? 0 : PACE.step);
  }

  /** The drawn cards: laid face down, then turned over one at a time. */
  deal(cards) {
    if (this.dealt || !Array.isArray(cards) || !cards.length) return;
    this.dealt = true;
    this.cards = cards;
    this.step("drawing");
    this.queue(() => {
      $("cards").replaceChildren(...cards.map((card, i) => cardElement(card, i)));
    }, PACE.card / 3);
    cards.forEach((_, i) => {
      this.queue(() => {
        $("reading-status").textContent = t("card.drawing", { n: i + 1, total: cards.length });
        $("cards").children[i]?.classList.add("flipped");
      }, PACE.card);
    });
  }

  /** An SSE event from /api/v1/jobs/{id}/events. */
  onEvent({ event, data }) {
    const payload = data && typeof data === "object" ? data : {};
    const inner = payload.data && typeof payload.data === "object" ? payload.data : {};
    if (event === "queued" || payload.status === "queued") this.step("queued");
    if (event === "processing") this.step("filtering");
    const step = payload.step === "formatting" ? "reading" : payload.step;
    if (Array.isArray(inner.cards)) this.deal(inner.cards);
    else if (step) this.step(step);
  }

  /** The final state from /api/v1/reading/{id}: the result (or why there is none), after the rest. */
  finish(reading) {
    if (reading.status === "succeeded") {
      const result = reading.result || {};
      this.deal(result.cards);
      this.step("reading");
      this.queue(() => {
        markStep("done");
        $("reading-status").textContent = t("status.succeeded");
        renderResult(result);
      });
    } else {
      this.queue(() => renderFailure(reading));
    }
    return this.tail;
  }

  /** Re-render the words (language switch) without replaying the timeline. */
  relabel(reading) {
    if (!reading) return;
    if (reading.status === "succeeded") {
      const cards = reading.result?.cards || [];
      $("cards").replaceChildren(...cards.map((card, i) => cardElement(card, i, true)));
      renderResult(reading.result || {});
      $("reading-status").textContent = t("status.succeeded");
    } else {
      renderFailure(reading);
    }
  }
}

function markStep(step, { failed = false } = {}) {
  const index = STEPS.indexOf(step);
  [...$("steps").children].forEach((li, i) => {
    if (i < index) li.className = "done";
    else if (i === index) li.className = failed ? "failed" : step === "done" ? "done" : "active";
    else li.className = "";
  });
  if (!failed && step !== "done") $("reading-status").textContent = t("step.now", { step: t(`step.${step}`) });
}

function cardElement(card, i, flipped = false) {
  const reversed = isReversed(card);
  const el = h(
    "article",
    { class: `card ${reversed ? "reversed" : "upright"}${flipped ? " flipped" : ""}`, dataset: { cardId: card.card_id || "" } },
    h("div", { class: "card-inner" }, h("div", { class: "card-back" }), h("div", { class: "card-front" })),
    h(
      "div",
      { class: "card-caption" },
      h("span", { class: "card-position" }, positionLabel(card, i)),
      h("strong", { class: "card-name" }, cardName(card)),
      h("span", { class: "card-orientation" }, t(reversed ? "card.reversed" : "card.upright")),
      h("span", { class: "card-gist muted small" }, cardGist(card)),
    ),
  );
  // Markup made here from the deck's shapes only (no server text), see cards.js.
  el.querySelector(".card-back").innerHTML = cardBackSvg();
  el.querySelector(".card-front").innerHTML = cardFaceSvg(card);
  el.querySelector(".card-front svg").setAttribute("aria-label", cardName(card));
  return el;
}

function renderAnalysis(analysis) {
  const box = $("analysis");
  if (!analysis || typeof analysis !== "object") {
    box.hidden = true;
    return;
  }
  const chips = [];
  if (analysis.category) chips.push([t("tag.category"), tag("category", analysis.category)]);
  if (analysis.timeframe) chips.push([t("tag.timeframe"), tag("timeframe", analysis.timeframe)]);
  if (analysis.emotion) chips.push([t("tag.emotion"), tag("emotion", analysis.emotion)]);
  const category = String(analysis.category || "").replace(/_/g, " ");
  for (const theme of analysis.themes || []) {
    const raw = String(theme);
    if (raw.toLowerCase() === category) continue; // the topic chip says it already
    const snake = raw.toLowerCase().replace(/ /g, "_");
    const words = has(`theme.${raw.toLowerCase()}`) ? tag("theme", raw) : has(`category.${snake}`) ? tag("category", snake) : tag("theme", raw);
    chips.push([null, words]);
  }
  box.replaceChildren(
    ...chips.map(([label, value]) =>
      h("span", { class: "chip" }, label ? h("span", { class: "muted" }, `${label}: `) : null, value),
    ),
  );
  box.hidden = chips.length === 0;
}

function renderResult(result) {
  if (result.question) $("reading-question").textContent = `“${result.question}”`;
  renderAnalysis(result.analysis);
  const box = $("reading-text");
  const cards = Array.isArray(result.cards) ? result.cards : [];
  const parts = [];
  if (cards.length && cards.every((c) => c.interpretation)) {
    parts.push(h("h3", {}, t("result.cards")));
    cards.forEach((card, i) => {
      const orientation = t(isReversed(card) ? "card.reversed" : "card.upright");
      parts.push(
        h(
          "section",
          { class: "card-reading" },
          h("h4", {}, `${positionLabel(card, i)} · ${cardName(card)} · ${orientation}`),
          h("p", {}, card.interpretation),
        ),
      );
    });
    if (result.synthesis) parts.push(h("h3", {}, t("result.overview")), h("p", {}, result.synthesis));
    if (result.advice) parts.push(h("h3", {}, t("result.advice")), h("p", { class: "advice" }, result.advice));
  } else {
    const text = result.reading;
    const body = typeof text === "string" ? text : text && typeof text === "object" ? Object.values(text).join("\n\n") : "";
    parts.push(...body.split(/\n{2,}/).filter(Boolean).map((para) => h("p", {}, para)));
  }
  box.replaceChildren(...parts);
  box.hidden = parts.length === 0;
}

/** Why there is no reading, in people's words; the server's message goes to the console. */
export function failureText(reading) {
  const error = reading.error || {};
  const code = error.code || "";
  if (error.message) console.info(`[conjure] reading ${reading.status} ${code}: ${error.message}`);
  if (reading.status === "canceled" || code === "canceled") return t("job.canceled");
  if (code === "question_not_allowed") {
    // The filter's reason is written for the asker (the prompt asks for that); it adds the why.
    return [t("job.question_not_allowed"), error.message].filter(Boolean).join("\n");
  }
  if (code === "ai_not_configured") return t("job.ai_not_configured");
  if (["model_unavailable", "timeout", "attempts_exhausted", "lease_expired"].includes(code) || reading.status === "dlq") {
    return t("job.busy");
  }
  return t("job.generic");
}

function renderFailure(reading) {
  const current = $("steps").querySelector(".active")?.dataset.step || "filtering";
  markStep(current, { failed: true });
  $("reading-status").textContent = ""; // the box below says what happened and that nothing was charged
  const box = $("reading-error");
  box.textContent = failureText(reading);
  box.className = "notice error";
  box.hidden = false;
}
