// The assistant page: conversations, the answer streaming in as it is written (message.delta on
// the user's event stream), the model badge, offers with yes / no, a room photo attached to a
// message (uploaded straight to storage, like the staging page) and the staged result shown in
// the conversation, the memories panel, the meditation player.

import "./assistant-i18n.js";
import { ApiError, api, followEvents, h, say, showStars, startAppPage, tokens, uploadWithProgress, userMessage } from "/static/api.js";
import { applyI18n, t, toggleLang } from "/static/i18n.js";

const $ = (id) => document.getElementById(id);
const state = {
  conversation: null,
  bubbles: new Map(),
  lastEventId: null,
  follow: null,
  photo: { key: null, url: null, uploading: false },
  stick: true, // the conversation follows its newest message
  sending: false, // a message is on its way: a double click or a held Enter sends it once
};
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
// STAGING_MAX_UPLOAD_BYTES's default: said before a long upload starts; the server has the last word.
const MAX_PHOTO_BYTES = 20 * 1024 * 1024;
const LINK = /\s*https?:\/\/\S+/g;

function notify(error) {
  // The server's words are for whoever debugs (the console has them); a person reads the problem's.
  say($("notice"), !error ? "" : error instanceof ApiError ? userMessage(error) : error.message || String(error));
}

/** Run ``action`` once at a time from ``button``: it stays disabled until the call is answered. */
async function once(button, action) {
  if (button.disabled) return;
  button.disabled = true;
  try {
    await action();
  } finally {
    button.disabled = false;
  }
}

function badge(route, model) {
  const side = !route ? "" : route.startsWith("local") ? "local" : route.startsWith("fallback") ? "fallback" : route.startsWith("tool") ? "tool" : "offline";
  const label = side ? t(`as.badge.${side}`) : route;
  return h("span", { class: `model-badge ${side}`, title: `${model || ""} · ${route || ""}` }, label);
}

function megabytes(bytes, round = Math.ceil) {
  // Rounded up by default: a photo just over the limit never reads as equal to it.
  const mb = round((10 * bytes) / (1024 * 1024)) / 10;
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function scrollDown(force = false) {
  const box = $("messages");
  if (force || state.stick) {
    box.scrollTop = box.scrollHeight;
    state.stick = true;
  }
}

function picture(className, src, alt) {
  // Images load after the text: keep the newest message in view once they have a height, unless
  // the person scrolled up to read (state.stick, kept by the list's scroll events).
  return h("img", { class: className, src, alt, onload: () => scrollDown() });
}

function fill(item, message) {
  // The text, and the image a delegated job made (its signed link shown as the image, not as text).
  const image = message.tool && message.tool.image_url;
  item.querySelector(".text").textContent = image ? (message.content || "").replace(LINK, "").trim() : message.content || "";
  item.querySelector(".result")?.remove();
  if (image) item.append(h("a", { class: "result", href: image, target: "_blank", rel: "noopener" }, picture("result-image", image, "The result")));
}

function bubble(message) {
  const photo = message.photo_url ? picture("photo", message.photo_url, "Your photo") : null;
  const item = h("li", { class: `bubble ${message.role}`, "data-id": message.id }, photo, h("div", { class: "text" }));
  fill(item, message);
  if (message.role === "assistant" && message.route) item.append(h("div", { class: "meta" }, badge(message.route, message.model)));
  return item;
}

function offerCard(offer) {
  // The offer's yes / no as buttons: the same words typed would do the same.
  const what = ["tarot", "image", "staging"].includes(offer.tool) ? t(`as.tool.${offer.tool}`) : offer.tool;
  return h(
    "div",
    { class: "offer" },
    h("span", { class: "offer-what" }, `${what} · ${offer.price_stars} ★`),
    h(
      "span",
      { class: "offer-actions" },
      h("button", { type: "button", class: "primary", onclick: () => reply(t("as.yes")) }, t("as.yes")),
      h("button", { type: "button", class: "secondary", onclick: () => reply(t("as.no")) }, t("as.no")),
    ),
  );
}

function showOffer(item, tool) {
  document.querySelectorAll("#messages .offer").forEach((card) => card.remove());
  if (tool && tool.offer && tool.offer.status === "pending") item.append(offerCard(tool.offer));
}

function reply(text) {
  $("message").value = text;
  send();
}

const refreshStars = () => showStars($("stars"));

async function loadConversations() {
  const page = await api("/api/v1/assistant/conversations?limit=100");
  $("conversations").replaceChildren(
    ...page.items.map((c) =>
      h("li", {}, h("button", { type: "button", class: c.id === state.conversation ? "active" : "", onclick: () => openConversation(c.id) }, c.title || t("as.untitled"))),
    ),
  );
  return page.items;
}

async function openConversation(id) {
  state.conversation = id;
  state.bubbles.clear();
  const page = await api(`/api/v1/assistant/conversations/${id}/messages?limit=100`);
  $("messages").replaceChildren(...page.items.map(bubble));
  let since = null;
  for (const m of page.items) {
    if (m.role === "user" && ["queued", "answering"].includes(m.status)) {
      pending(m.answer_id);
      since ??= Date.parse(m.created_at);
    }
  }
  if (since !== null) replayFrom(since);
  const last = page.items[page.items.length - 1];
  if (last && last.role === "assistant") showOffer($("messages").lastElementChild, last.tool);
  scrollDown(true);
  await loadConversations();
}

function pending(answerId, foreign = false) {
  // foreign: first heard of on the event stream, e.g. a message sent from another tab.
  const item = bubble({ id: answerId, role: "assistant", content: "" });
  item.classList.add("streaming");
  $("messages").append(item);
  state.bubbles.set(answerId, { item, next: 0, foreign });
  return state.bubbles.get(answerId);
}

async function send(event) {
  event?.preventDefault();
  if (state.sending) return;
  const content = $("message").value.trim();
  if (!content) return;
  notify(null);
  if (state.photo.uploading) {
    notify(new Error(t("as.photo.wait")));
    return;
  }
  if (state.photo.url && !state.photo.key) {
    notify(new Error(t("as.photo.unattached")));
    return;
  }
  let offers = [];
  state.sending = true;
  $("send").disabled = true;
  try {
    if (!state.conversation) state.conversation = (await api("/api/v1/assistant/conversations", { method: "POST", body: {} })).id;
    const body = { content };
    if (state.photo.key) body.photo_key = state.photo.key;
    // This message answers any offer: its buttons go now (its answer may arrive before the 202).
    offers = [...document.querySelectorAll("#messages .offer")];
    offers.forEach((card) => card.remove());
    const accepted = await api(`/api/v1/assistant/conversations/${state.conversation}/messages`, { method: "POST", body });
    $("message").value = "";
    const mine = bubble({ id: accepted.message_id, role: "user", content, photo_url: body.photo_key ? state.photo.url : null });
    clearPhoto({ keepPreview: true });
    // A fast answer can stream in before this response: its bubble exists already, put the message
    // before it; once it completed the conversation was read again and shows the message already.
    const shown = $("messages").querySelector(`[data-id="${accepted.message_id}"]`);
    const answered = $("messages").querySelector(`[data-id="${accepted.answer_id}"]`);
    if (!shown && answered) answered.before(mine);
    else if (!shown) {
      $("messages").append(mine);
      pending(accepted.answer_id);
    }
    scrollDown(true);
    await loadConversations();
  } catch (error) {
    notify(error);
    // Refused (e.g. not enough stars): the offer still stands, show it again.
    if (offers.length && state.conversation) openConversation(state.conversation).catch(notify);
  } finally {
    state.sending = false;
    $("send").disabled = state.photo.uploading;
  }
}

function replayFrom(ms) {
  // An answer being written as the conversation opens (a reload mid-answer): follow the event
  // stream again from just before its message (ids are "<milliseconds>-<sequence>"; a few seconds
  // of margin for clocks), so its bubble fills from the first word instead of from the middle.
  const id = Math.max(0, ms - 5000);
  const current = Number.parseInt(String(state.lastEventId || ""), 10);
  if (Number.isFinite(current) && current <= id) return; // already replaying from there
  state.lastEventId = `${id}-0`;
  state.follow?.abort(); // follow() reconnects from there
}

function replayed(messageId) {
  // An answer shown complete already (its bubble is not streaming): a replay adds nothing.
  return !state.bubbles.has(messageId) && $("messages").querySelector(`[data-id="${messageId}"]`) !== null;
}

function onEvent({ event, id, data }) {
  if (id) state.lastEventId = id;
  if (event === "message.delta") {
    if (data.conversation_id !== state.conversation || replayed(data.message_id)) return;
    const open = state.bubbles.get(data.message_id) || pending(data.message_id, true);
    if (data.index < open.next) return; // replayed: already shown
    open.next = data.index + 1;
    open.item.querySelector(".text").textContent += data.delta;
    scrollDown();
  } else if (event === "message.completed") {
    if (data.conversation_id !== state.conversation || replayed(data.message_id)) return;
    const open = state.bubbles.get(data.message_id) || pending(data.message_id, true);
    fill(open.item, { content: data.text, tool: data.tool });
    open.item.classList.remove("streaming");
    open.item.append(h("div", { class: "meta" }, badge(data.route, data.model)));
    if (open.item === $("messages").lastElementChild) showOffer(open.item, data.tool);
    scrollDown();
    state.bubbles.delete(data.message_id);
    // An answer to a message this tab did not send (another tab, another device): read the
    // conversation again so the question shows above its answer.
    if (open.foreign) openConversation(state.conversation).catch(notify);
    refreshStars();
    setTimeout(loadMemories, 400); // the memory job runs beside the answer
  }
}

async function follow() {
  // The user's event stream, resumed after the last event seen when it drops.
  while (tokens.access) {
    state.follow = new AbortController();
    const query = state.lastEventId ? `?last_event_id=${encodeURIComponent(state.lastEventId)}` : "";
    try {
      await followEvents(`/api/v1/events${query}`, onEvent, state.follow.signal);
    } catch (error) {
      if (error.status === 401) return;
    }
    if (!state.follow.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// --- a photo for the next message ----------------------------------------------------------

function photoStatus(text, kind = "") {
  $("photo-status").textContent = text;
  $("photo-status").className = `small ${kind || "muted"}`;
}

function clearPhoto({ keepPreview = false } = {}) {
  // keepPreview: the sent message's bubble still shows the local copy.
  if (state.photo.url && !keepPreview) URL.revokeObjectURL(state.photo.url);
  state.photo = { key: null, url: null, uploading: false };
  $("photo").value = "";
  $("photo-preview").hidden = true;
  $("send").disabled = false;
}

async function attachPhoto(file) {
  notify(null);
  if (!file) return;
  clearPhoto();
  const url = URL.createObjectURL(file);
  state.photo = { key: null, url, uploading: false };
  $("photo-thumb").hidden = false;
  $("photo-thumb").src = url;
  $("photo-name").textContent = file.name;
  $("photo-preview").hidden = false;
  $("photo-progress").hidden = true;
  if (!PHOTO_TYPES.includes(file.type)) {
    photoStatus(t("as.photo.type"), "error");
    return;
  }
  if (file.size > MAX_PHOTO_BYTES) {
    photoStatus(t("as.photo.size", { size: megabytes(file.size), max: megabytes(MAX_PHOTO_BYTES, Math.floor) }), "error");
    return;
  }
  state.photo.uploading = true;
  $("send").disabled = true;
  $("photo-progress").hidden = false;
  $("photo-progress").value = 0;
  photoStatus(t("as.photo.uploading", { size: megabytes(file.size) }));
  try {
    const presigned = await api("/api/v1/uploads/presign", {
      method: "POST",
      body: { filename: file.name, content_type: file.type, size: file.size },
    });
    await uploadWithProgress(presigned, file, (pct) => {
      $("photo-progress").value = pct;
    });
    if (state.photo.url !== url) return; // removed or replaced meanwhile
    state.photo.key = presigned.key;
    $("photo-progress").value = 100;
    $("photo-progress").hidden = true;
    photoStatus(t("as.photo.attached"), "ok");
  } catch (error) {
    if (state.photo.url !== url) return;
    $("photo-progress").hidden = true;
    photoStatus(error.message || String(error), "error");
  } finally {
    if (state.photo.url === url) {
      state.photo.uploading = false;
      $("send").disabled = false;
    }
  }
}

async function loadMemories() {
  const page = await api("/api/v1/assistant/memories?limit=100");
  $("memories").replaceChildren(
    ...page.items.map((m) =>
      h("li", {}, h("span", {}, m.content), h("button", { type: "button", class: "secondary", "aria-label": `${t("as.forget")}: ${m.content}`, onclick: () => forget(m.id) }, t("as.forget"))),
    ),
  );
  $("memories-empty").hidden = page.items.length > 0;
}

async function forget(id) {
  try {
    await api(`/api/v1/assistant/memories/${id}`, { method: "DELETE" });
  } catch (error) {
    notify(error);
  }
  // Also after a refusal: forgotten already (another tab) means the list here is out of date.
  await loadMemories().catch(notify);
}

async function meditate(event) {
  event.preventDefault();
  notify(null);
  const body = { theme: $("meditation-theme").value, minutes: Number($("meditation-minutes").value) };
  try {
    // Each one costs stars: a double click orders one.
    let accepted = null;
    await once($("meditate"), async () => {
      accepted = await api("/api/v1/assistant/meditations", { method: "POST", body });
    });
    if (!accepted) return;
    $("player").hidden = true;
    $("meditation-progress").hidden = false;
    $("meditation-progress").value = 0;
    $("meditation-status").textContent = t("as.med.writing");
    await refreshStars();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      const m = await api(`/api/v1/assistant/meditations/${accepted.meditation_id}`);
      const step = (m.progress && m.progress.data) || {};
      if (step.segments) {
        $("meditation-progress").value = Math.round((100 * step.segment) / step.segments);
        $("meditation-status").textContent = t("as.med.voicing", { n: step.segment, total: step.segments });
      }
      if (m.status === "ready") {
        $("meditation-progress").value = 100;
        $("meditation-status").textContent = t("as.med.ready", { minutes: Math.round(m.duration_seconds / 60), theme: m.theme });
        $("player").src = m.audio_url;
        $("player").hidden = false;
        break;
      }
      if (m.status === "failed" || m.status === "canceled") {
        $("meditation-status").textContent = t(m.status === "failed" ? "as.med.failed" : "as.med.canceled");
        break;
      }
    }
    await refreshStars();
  } catch (error) {
    notify(error);
  }
}

async function showApp() {
  $("auth").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  const conversations = await loadConversations();
  if (conversations.length) await openConversation(conversations[0].id);
  await Promise.all([loadMemories(), refreshStars()]);
  follow();
}

function wire() {
  applyI18n();
  $("lang-toggle").addEventListener("click", toggleLang);
  // What was drawn in the other language (titles, badges, offers, memories) is drawn again.
  document.addEventListener("langchange", () => {
    if ($("app").hidden) return;
    const redraw = state.conversation ? openConversation(state.conversation) : loadConversations();
    Promise.all([redraw, loadMemories()]).catch(notify);
  });
  $("new-conversation").addEventListener("click", () =>
    once($("new-conversation"), async () => {
      try {
        const created = await api("/api/v1/assistant/conversations", { method: "POST", body: {} });
        await openConversation(created.id);
      } catch (error) {
        notify(error);
      }
    }),
  );
  $("composer").addEventListener("submit", send);
  $("photo").addEventListener("change", () => attachPhoto($("photo").files[0]));
  $("photo-remove").addEventListener("click", () => clearPhoto());
  $("photo-thumb").addEventListener("error", () => ($("photo-thumb").hidden = true)); // not a picture a browser shows
  $("messages").addEventListener("scroll", () => (state.stick = nearBottom()));
  // A resize (a phone turned, a window widened) keeps the newest message in view.
  new ResizeObserver(() => scrollDown()).observe($("messages"));
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  $("meditation-form").addEventListener("submit", meditate);
}

wire();
startAppPage(showApp, notify);
