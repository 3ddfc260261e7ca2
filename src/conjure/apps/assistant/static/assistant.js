// The assistant page: conversations, the answer streaming in as it is written (message.delta on
// the user's event stream), the model badge, the memories panel, the meditation player.

import { api, availableStars, followEvents, h, say, signIn, tokens } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const state = { conversation: null, bubbles: new Map(), lastEventId: null, follow: null };

function notify(error) {
  say($("notice"), error ? error.message || String(error) : "");
}

function badge(route, model) {
  const side = !route ? "" : route.startsWith("local") ? "local" : route.startsWith("fallback") ? "fallback" : route.startsWith("tool") ? "tool" : "offline";
  const label = { local: "Local model", fallback: "API fallback", tool: "Delegated", offline: "Offline" }[side] || route;
  return h("span", { class: `model-badge ${side}`, title: `${model || ""} · ${route || ""}` }, label);
}

function bubble(message) {
  const text = h("div", { class: "text" }, message.content || "");
  const item = h("li", { class: `bubble ${message.role}`, "data-id": message.id }, text);
  if (message.role === "assistant" && message.route) item.append(h("div", { class: "meta" }, badge(message.route, message.model)));
  return item;
}

async function signInAs(mode) {
  notify(null);
  try {
    await signIn(mode, $("auth-email").value.trim(), $("auth-password").value);
    await showApp();
  } catch (error) {
    notify(error);
  }
}

async function refreshStars() {
  try {
    $("stars").textContent = `★ ${await availableStars()}`;
    $("stars").hidden = false;
  } catch {
    $("stars").hidden = true;
  }
}

async function loadConversations() {
  const page = await api("/api/v1/assistant/conversations?limit=100");
  $("conversations").replaceChildren(
    ...page.items.map((c) =>
      h("li", {}, h("button", { type: "button", class: c.id === state.conversation ? "active" : "", onclick: () => openConversation(c.id) }, c.title || "New conversation")),
    ),
  );
  return page.items;
}

async function openConversation(id) {
  state.conversation = id;
  state.bubbles.clear();
  const page = await api(`/api/v1/assistant/conversations/${id}/messages?limit=100`);
  $("messages").replaceChildren(...page.items.map(bubble));
  for (const m of page.items) {
    if (m.role === "user" && ["queued", "answering"].includes(m.status)) pending(m.answer_id);
  }
  await loadConversations();
}

function pending(answerId) {
  const item = bubble({ id: answerId, role: "assistant", content: "" });
  item.classList.add("streaming");
  $("messages").append(item);
  state.bubbles.set(answerId, { item, next: 0 });
  return state.bubbles.get(answerId);
}

async function send(event) {
  event.preventDefault();
  const content = $("message").value.trim();
  if (!content) return;
  notify(null);
  try {
    if (!state.conversation) state.conversation = (await api("/api/v1/assistant/conversations", { method: "POST", body: {} })).id;
    const accepted = await api(`/api/v1/assistant/conversations/${state.conversation}/messages`, { method: "POST", body: { content } });
    $("message").value = "";
    const mine = bubble({ id: accepted.message_id, role: "user", content });
    // A fast answer can stream in before this response: its bubble exists already, put the message before it.
    const answered = $("messages").querySelector(`[data-id="${accepted.answer_id}"]`);
    if (answered) answered.before(mine);
    else {
      $("messages").append(mine);
      pending(accepted.answer_id);
    }
    await loadConversations();
  } catch (error) {
    notify(error);
  }
}

function onEvent({ event, id, data }) {
  if (id) state.lastEventId = id;
  if (event === "message.delta") {
    if (data.conversation_id !== state.conversation) return;
    const open = state.bubbles.get(data.message_id) || pending(data.message_id);
    if (data.index < open.next) return; // replayed: already shown
    open.next = data.index + 1;
    open.item.querySelector(".text").textContent += data.delta;
  } else if (event === "message.completed") {
    if (data.conversation_id !== state.conversation) return;
    const open = state.bubbles.get(data.message_id) || pending(data.message_id);
    open.item.querySelector(".text").textContent = data.text;
    open.item.classList.remove("streaming");
    open.item.append(h("div", { class: "meta" }, badge(data.route, data.model)));
    state.bubbles.delete(data.message_id);
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
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function loadMemories() {
  const page = await api("/api/v1/assistant/memories?limit=100");
  $("memories").replaceChildren(
    ...page.items.map((m) =>
      h("li", {}, h("span", {}, m.content), h("button", { type: "button", class: "secondary", "aria-label": `Forget: ${m.content}`, onclick: () => forget(m.id) }, "Forget")),
    ),
  );
  $("memories-empty").hidden = page.items.length > 0;
}

async function forget(id) {
  try {
    await api(`/api/v1/assistant/memories/${id}`, { method: "DELETE" });
    await loadMemories();
  } catch (error) {
    notify(error);
  }
}

async function meditate(event) {
  event.preventDefault();
  notify(null);
  const body = { theme: $("meditation-theme").value, minutes: Number($("meditation-minutes").value) };
  try {
    const accepted = await api("/api/v1/assistant/meditations", { method: "POST", body });
    $("player").hidden = true;
    $("meditation-progress").hidden = false;
    $("meditation-progress").value = 0;
    $("meditation-status").textContent = "Writing your meditation…";
    await refreshStars();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      const m = await api(`/api/v1/assistant/meditations/${accepted.meditation_id}`);
      const step = (m.progress && m.progress.data) || {};
      if (step.segments) {
        $("meditation-progress").value = Math.round((100 * step.segment) / step.segments);
        $("meditation-status").textContent = `Voicing part ${step.segment} of ${step.segments}…`;
      }
      if (m.status === "ready") {
        $("meditation-progress").value = 100;
        $("meditation-status").textContent = `Ready: ${Math.round(m.duration_seconds / 60)} minutes on “${m.theme}”.`;
        $("player").src = m.audio_url;
        $("player").hidden = false;
        break;
      }
      if (m.status === "failed" || m.status === "canceled") {
        $("meditation-status").textContent = `The meditation ${m.status === "failed" ? "could not be made" : "was canceled"}; nothing was charged.`;
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
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signInAs("signup");
  });
  $("login").addEventListener("click", () => signInAs("login"));
  $("logout").addEventListener("click", () => {
    tokens.clear();
    location.reload();
  });
  $("new-conversation").addEventListener("click", async () => {
    try {
      const created = await api("/api/v1/assistant/conversations", { method: "POST", body: {} });
      await openConversation(created.id);
    } catch (error) {
      notify(error);
    }
  });
  $("composer").addEventListener("submit", send);
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  $("meditation-form").addEventListener("submit", meditate);
  document.addEventListener("unauthorized", () => {
    tokens.clear();
    $("app").hidden = true;
    $("auth").hidden = false;
  });
}

wire();
if (tokens.access) {
  showApp().catch((error) => {
    notify(error);
    $("auth").hidden = false;
  });
} else {
  $("auth").hidden = false;
}
