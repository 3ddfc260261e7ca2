// The assistant page: conversations, the answer streaming in as it is written (message.delta on
// the user's event stream) and Stop while it is written, the model badge, offers with yes / no, a
// room photo attached to a message (uploaded straight to storage, like the staging page) and the
// staged result shown in the conversation, conversations renamed and deleted, the memories panel,
// the meditation player. Messages carry the page's language: the assistant's own sentences follow it.

import "./assistant-i18n.js";
import { ApiError, api, followEvents, h, say, showStars, startAppPage, tokens, uploadWithProgress, userMessage } from "/static/api.js";
import { applyI18n, currentLang, t, toggleLang } from "/static/i18n.js";

const $ = (id) => document.getElementById(id);
const state = {
  conversation: null,
  bubbles: new Map(),
  lastEventId: null,
  follow: null,
  photo: { key: null, url: null, uploading: false },
  stick: true, // the conversation follows its newest message
  sending: false, // a message is on its way: a double click or a held Enter sends it once
  opening: null, // "New" is making a conversation: a message sent meanwhile waits to go there
  renaming: null, // the conversation whose title is being edited in the list
  refocus: null, // {id, which}: the list button to focus once the list is drawn next (a rename ended)
  live: null, // resolves once the event stream is open (an answer's events reach the page from then)
};
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
// STAGING_MAX_UPLOAD_BYTES's default: said before a long upload starts; the server has the last word.
const MAX_PHOTO_BYTES = 20 * 1024 * 1024;
const LIVE_WAIT_MS = 5000; // the longest a message waits for the event stream to open
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
  if (image) item.append(h("a", { class: "result", href: image, target: "_blank", rel: "noopener" }, picture("result-image", image, t("as.alt.result"))));
}

function bubble(message) {
  const photo = message.photo_url ? picture("photo", message.photo_url, t("as.alt.photo")) : null;
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

async function refreshStars() {
  // The badge links to where stars are bought (the billing page); hidden when the wallet is unreadable.
  await showStars($("stars"));
  $("stars-link").hidden = $("stars").hidden;
}

/** Alt texts and aria labels of the page's own elements, in the page's language. */
function applyLabels() {
  for (const el of document.querySelectorAll("[data-i18n-alt]")) el.alt = t(el.dataset.i18nAlt);
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
}

let listReads = 0; // reads of the list so far: an older read answering late must not undo a newer one

async function loadConversations() {
  const read = ++listReads;
  const page = await api("/api/v1/assistant/conversations?limit=100");
  // A title being renamed stays in its box: an answer finishing meanwhile reads the list again,
  // and redrawing it would drop what is typed (the rename's end draws the list).
  if (read === listReads && !state.renaming) redrawList(page.items);
  return page.items;
}

function redrawList(items) {
  // A keyboard user on one of the list's buttons stays on it (the same button of the same
  // conversation) when the list is drawn again, e.g. as an answer ends; a rename that ended
  // asked for its Rename button (its box is what has the focus now).
  const list = $("conversations");
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const which = ["rename", "delete"].find((name) => focused?.classList.contains(name)) || "open";
  const keep = state.refocus || { id: focused?.closest("li")?.dataset.id, which };
  state.refocus = null;
  list.replaceChildren(...items.map(conversationItem));
  if (keep.id) focusConversation(keep.id, keep.which);
}

const SVG = "http://www.w3.org/2000/svg";
const PENCIL = ["M4 20h4L19 9l-4-4L4 16z", "M14 6l4 4"];
const TRASH = ["M4 7h16", "M9 7V4h6v3", "M6 7l1 13h10l1-13", "M10 11v6", "M14 11v6"];

/** A line icon (drawn, not a font glyph: phones and headless browsers may lack emoji fonts). */
function icon(paths) {
  const svg = document.createElementNS(SVG, "svg");
  const attrs = { viewBox: "0 0 24 24", width: "18", height: "18", fill: "none", stroke: "currentColor", "stroke-width": "1.8", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true" };
  for (const [key, value] of Object.entries(attrs)) svg.setAttribute(key, value);
  for (const d of paths) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

function conversationItem(c) {
  // The title opens it; rename and delete are buttons of their own (named for screen readers).
  const title = c.title || t("as.untitled");
  const active = c.id === state.conversation;
  const li = h("li", { class: "conversation", "data-id": c.id });
  li.append(
    h("button", { type: "button", class: `open${active ? " active" : ""}`, title, "aria-current": active ? "true" : null, onclick: () => openConversation(c.id).catch(notify) }, title),
    h("button", { type: "button", class: "icon rename", title: t("as.rename"), "aria-label": t("as.rename.label", { title }), onclick: () => startRename(li, c) }, icon(PENCIL)),
    h("button", { type: "button", class: "icon delete", title: t("as.delete"), "aria-label": t("as.delete.label", { title }), onclick: () => confirmDelete(c) }, icon(TRASH)),
  );
  return li;
}

function focusConversation(id, which = "open") {
  const target = $("conversations").querySelector(`li[data-id="${id}"] button.${which}`);
  (target || $("new-conversation")).focus();
}

function startRename(li, c) {
  // Inline: Enter (or Save) renames, Escape (or Cancel) keeps the old title; focus comes back.
  const input = h("input", { class: "rename-input", value: c.title || "", maxlength: "200", "aria-label": t("as.rename.input"), required: true });
  let saving = false;
  state.renaming = c.id;
  const back = async () => {
    // The focus goes back with whichever read of the list draws it (a newer read started by an
    // answer ending may draw it instead of this one).
    state.renaming = null;
    state.refocus = { id: c.id, which: "rename" };
    await loadConversations().catch((error) => {
      state.refocus = null; // not drawn: a later redraw must not take the focus from elsewhere
      throw error;
    });
  };
  const save = async (event) => {
    event.preventDefault();
    const title = input.value.trim();
    if (saving) return;
    if (!title || title === c.title) return back().catch(notify);
    saving = true;
    notify(null);
    try {
      await api(`/api/v1/assistant/conversations/${c.id}`, { method: "PATCH", body: { title } });
    } catch (error) {
      notify(error);
    }
    await back().catch(notify);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      back().catch(notify);
    }
  });
  li.replaceChildren(
    h(
      "form",
      { class: "rename", onsubmit: save },
      input,
      h("button", { type: "submit", class: "primary" }, t("as.save")),
      h("button", { type: "button", class: "secondary", onclick: () => back().catch(notify) }, t("as.cancel")),
    ),
  );
  input.focus();
  input.select();
}

async function confirmDelete(c) {
  // A modal dialog (focus kept inside, Escape cancels), Cancel focused first: deleting is for good.
  const dialog = $("delete-dialog");
  if (dialog.open) return; // a second click while it asks
  $("delete-text").textContent = t("as.delete.text", { title: c.title || t("as.untitled") });
  dialog.returnValue = "";
  const closed = new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
  dialog.showModal();
  if ((await closed) !== "delete") {
    focusConversation(c.id, "delete");
    return;
  }
  notify(null);
  try {
    await api(`/api/v1/assistant/conversations/${c.id}`, { method: "DELETE" });
  } catch (error) {
    notify(error);
  }
  if (state.conversation === c.id) {
    state.conversation = null;
    state.bubbles.clear();
    syncStop();
    $("messages").replaceChildren();
  }
  try {
    const rest = await loadConversations();
    if (!state.conversation && rest.length) await openConversation(rest[0].id);
  } catch (error) {
    notify(error);
  }
  const first = $("conversations").querySelector("button.open");
  (first || $("new-conversation")).focus();
  refreshStars(); // answers still queued there were canceled: their held stars are back
}

async function openConversation(id) {
  state.conversation = id;
  state.bubbles.clear();
  const page = await api(`/api/v1/assistant/conversations/${id}/messages?limit=100`);
  const items = [];
  for (const m of page.items) {
    items.push(bubble(m));
    // A message whose answer was stopped (or failed): say so where the answer would be.
    if (m.role === "user" && (m.status === "canceled" || m.status === "failed")) {
      const note = bubble({ id: m.answer_id, role: "assistant", content: "" });
      endNote(note, m.status === "canceled" ? "stopped" : "failed");
      items.push(note);
    }
  }
  $("messages").replaceChildren(...items);
  let since = null;
  for (const m of page.items) {
    if (m.role === "user" && ["queued", "answering"].includes(m.status)) {
      pending(m.answer_id, false, m.job_id);
      since ??= Date.parse(m.created_at);
    }
  }
  syncStop();
  if (since !== null) replayFrom(since);
  const last = page.items[page.items.length - 1];
  if (last && last.role === "assistant") showOffer($("messages").lastElementChild, last.tool);
  scrollDown(true);
  await loadConversations();
}

function pending(answerId, foreign = false, jobId = null) {
  // foreign: first heard of on the event stream, e.g. a message sent from another tab.
  const item = bubble({ id: answerId, role: "assistant", content: "" });
  item.classList.add("streaming");
  $("messages").append(item);
  state.bubbles.set(answerId, { item, next: 0, foreign, jobId });
  syncStop();
  return state.bubbles.get(answerId);
}

function syncStop() {
  // Stop shows while an answer of the open conversation is being written (or waits its turn).
  $("stop").hidden = state.bubbles.size === 0;
}

function endNote(item, why) {
  // why: "stopped" or "failed"; the words that arrived stay, with a line saying what happened.
  item.classList.remove("streaming");
  item.classList.add(why);
  item.querySelector(".ended")?.remove();
  item.append(h("div", { class: "meta ended" }, t(`as.${why}`)));
}

function ended(answerId, why) {
  const open = state.bubbles.get(answerId);
  if (!open) return;
  state.bubbles.delete(answerId); // later deltas of it are ignored (replayed() sees it shown)
  endNote(open.item, why);
  syncStop();
}

async function stop() {
  // Stops every answer of this conversation still being written or waiting: its job is canceled,
  // and nothing is charged for it (the platform charges only on success).
  const open = [...state.bubbles.entries()];
  if (!open.length) return;
  notify(null);
  for (const [answerId] of open) ended(answerId, "stopped");
  let finished = false;
  await Promise.all(
    open.map(async ([, entry]) => {
      if (!entry.jobId) return;
      try {
        await api(`/api/v1/jobs/${entry.jobId}/cancel`, { method: "POST" });
      } catch (error) {
        if (error.code === "job_not_cancelable") finished = true; // it ended first: show it as it is
        else notify(error);
      }
    }),
  );
  if (finished && state.conversation) await openConversation(state.conversation).catch(notify);
  $("message").focus();
  refreshStars();
}

function showSent(accepted, content, photoUrl) {
  const mine = bubble({ id: accepted.message_id, role: "user", content, photo_url: photoUrl });
  // A fast answer can stream in before this response: its bubble exists already, put the message
  // before it; once it completed the conversation was read again and shows the message already.
  const shown = $("messages").querySelector(`[data-id="${accepted.message_id}"]`);
  const answered = $("messages").querySelector(`[data-id="${accepted.answer_id}"]`);
  if (!shown && answered) answered.before(mine);
  else if (!shown) {
    $("messages").append(mine);
    pending(accepted.answer_id, false, accepted.job_id);
  }
  scrollDown(true);
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
    // Typed right after "New": the message belongs to the conversation being made, not the last one.
    if (state.opening) await state.opening;
    // Just signed in: the stream follows from when it opens, and this message's answer comes on it
    // (a stream that does not open in a few seconds, e.g. the network, does not hold the message).
    await Promise.race([state.live, new Promise((resolve) => setTimeout(resolve, LIVE_WAIT_MS))]);
    if (!state.conversation) state.conversation = (await api("/api/v1/assistant/conversations", { method: "POST", body: {} })).id;
    const conversation = state.conversation;
    const body = { content, language: currentLang() };
    if (state.photo.key) body.photo_key = state.photo.key;
    // This message answers any offer: its buttons go now (its answer may arrive before the 202).
    offers = [...document.querySelectorAll("#messages .offer")];
    offers.forEach((card) => card.remove());
    const accepted = await api(`/api/v1/assistant/conversations/${conversation}/messages`, { method: "POST", body });
    $("message").value = "";
    // Another conversation opened meanwhile: this one shows the message when opened again.
    const here = state.conversation === conversation;
    if (here) showSent(accepted, content, body.photo_key ? state.photo.url : null);
    clearPhoto({ keepPreview: here });
    // Sent, and the box is empty: the next message may go while the list is read again (a click
    // meanwhile must not be dropped with its words left in the box).
    state.sending = false;
    $("send").disabled = state.photo.uploading;
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
    const open = state.bubbles.get(data.message_id) || pending(data.message_id, true, data.job_id);
    open.jobId ??= data.job_id;
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
    syncStop();
    // An answer to a message this tab did not send (another tab, another device): read the
    // conversation again so the question shows above its answer.
    if (open.foreign) openConversation(state.conversation).catch(notify);
    refreshStars();
  } else if (event === "job.succeeded" && data.kind === "assistant.remember") {
    loadMemories().catch(notify); // what the message told about the person is stored now
  } else if (event === "job.canceled" || event === "job.failed") {
    // An answer stopped elsewhere (another tab), or one that could not be written.
    for (const [answerId, open] of state.bubbles) {
      if (open.jobId === data.job_id) ended(answerId, event === "job.canceled" ? "stopped" : "failed");
    }
  }
}

async function follow() {
  // The user's event stream, resumed after the last event seen when it drops.
  let settled;
  state.live = new Promise((resolve) => (settled = resolve));
  while (tokens.access) {
    state.follow = new AbortController();
    const query = state.lastEventId ? `?last_event_id=${encodeURIComponent(state.lastEventId)}` : "";
    let refused = false;
    let wait = 1000;
    try {
      await followEvents(`/api/v1/events${query}`, onEvent, state.follow.signal, settled);
    } catch (error) {
      refused = error.status === 401;
      if (error.retryAfter) wait = Math.min(error.retryAfter, 60) * 1000; // e.g. too many streams open
    }
    // A stream that could not open (too many open in other tabs, the network) holds no message back.
    settled();
    if (refused) return;
    if (!state.follow.signal.aborted) await new Promise((resolve) => setTimeout(resolve, wait));
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
  $("send").disabled = state.sending;
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

/** The words of a ready meditation, part by part, to read along with the audio. */
function showScript(lines) {
  const list = $("meditation-lines");
  list.replaceChildren(
    ...lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
  $("meditation-script").hidden = lines.length === 0;
}

async function meditate(event) {
  event.preventDefault();
  notify(null);
  // Written and voiced in the page's language, as the messages are answered in it (the server
  // makes it Thai for a theme written in Thai, whatever the page's language).
  const body = {
    theme: $("meditation-theme").value,
    minutes: Number($("meditation-minutes").value),
    language: currentLang(),
  };
  try {
    // Each one costs stars: a double click orders one.
    let accepted = null;
    await once($("meditate"), async () => {
      accepted = await api("/api/v1/assistant/meditations", { method: "POST", body });
    });
    if (!accepted) return;
    $("player").hidden = true;
    $("meditation-script").hidden = true;
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
        showScript(m.script || []);
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
  state.renaming = null; // signed in again after the session lapsed mid-rename: the list is drawn anew
  // The event stream first: it follows live only, and a message sent while the page still reads
  // its lists would otherwise end (its answer, its memories) before anyone listens.
  follow();
  const conversations = await loadConversations();
  if (conversations.length) await openConversation(conversations[0].id);
  await Promise.all([loadMemories(), refreshStars()]);
}

function wire() {
  applyI18n();
  applyLabels();
  $("lang-toggle").addEventListener("click", toggleLang);
  // What was drawn in the other language (titles, badges, offers, memories) is drawn again.
  document.addEventListener("langchange", () => {
    applyLabels();
    if ($("app").hidden) return;
    const redraw = state.conversation ? openConversation(state.conversation) : loadConversations();
    Promise.all([redraw, loadMemories()]).catch(notify);
  });
  $("new-conversation").addEventListener("click", () =>
    once($("new-conversation"), async () => {
      state.opening = api("/api/v1/assistant/conversations", { method: "POST", body: {} }).then((created) => openConversation(created.id));
      try {
        await state.opening;
      } catch (error) {
        notify(error);
      } finally {
        state.opening = null;
      }
    }),
  );
  $("composer").addEventListener("submit", send);
  $("stop").addEventListener("click", () => once($("stop"), stop));
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
