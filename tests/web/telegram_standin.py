"""A stand-in for Telegram's ``Telegram.WebApp`` (telegram-web-app.js cannot be fetched here).

It carries initData signed with the test bot's token exactly as Telegram signs it (the server
verifies it for real), a light chat theme, and a MainButton / BackButton / HapticFeedback that
record what the page asked of them in ``Telegram.WebApp.__calls`` so tests can check them. The
MainButton is drawn by Telegram outside the web view; ``MainButton.__tap()`` is a person's tap.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from conjure.auth.telegram import sign

# Telegram's light default theme, so a dark-scheme browser shows whether the page follows it.
THEME = {
    "bg_color": "#ffffff",
    "secondary_bg_color": "#f0f0f4",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
}


def signed_init_data(bot_token: str, user: dict[str, object], *, auth_date: int | None = None) -> str:
    """``initData`` as Telegram builds it: url-encoded fields plus the HMAC ``hash``."""
    fields = {
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":")),
    }
    return urlencode({**fields, "hash": sign(fields, bot_token)})


def telegram_standin(bot_token: str, user: dict[str, object], *, version: str = "8.0") -> str:
    """JavaScript for ``page.add_init_script``: defines ``window.Telegram.WebApp`` before the page runs."""
    config = {
        "initData": signed_init_data(bot_token, user),
        "user": user,
        "theme": THEME,
        "version": version,
    }
    return "const __tg = " + json.dumps(config) + ";\n" + _STANDIN_JS


_STANDIN_JS = """
(() => {
  const calls = [];
  const log = (...entry) => calls.push(entry);
  const events = {};
  const atLeast = (v) => {
    const a = String(__tg.version).split(".").map(Number);
    const b = String(v).split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  };
  const button = (name) => {
    const handlers = [];
    const b = {
      text: "", isVisible: false, isActive: true, isProgressVisible: false,
      setText(text) { b.text = text; log(name + ".setText", text); return b; },
      show() { b.isVisible = true; return b; },
      hide() { b.isVisible = false; return b; },
      enable() { b.isActive = true; return b; },
      disable() { b.isActive = false; return b; },
      showProgress() { b.isProgressVisible = true; return b; },
      hideProgress() { b.isProgressVisible = false; return b; },
      setParams(p) { Object.assign(b, p); return b; },
      onClick(cb) { handlers.push(cb); return b; },
      offClick(cb) { const i = handlers.indexOf(cb); if (i >= 0) handlers.splice(i, 1); return b; },
      __tap() { if (b.isVisible && b.isActive !== false) handlers.slice().forEach((cb) => cb()); },
    };
    return b;
  };
  window.Telegram = {
    WebApp: {
      initData: __tg.initData,
      initDataUnsafe: { user: __tg.user, auth_date: 0 },
      version: __tg.version,
      platform: "android",
      colorScheme: "light",
      themeParams: __tg.theme,
      isExpanded: false,
      viewportHeight: window.innerHeight,
      viewportStableHeight: window.innerHeight,
      MainButton: button("MainButton"),
      BackButton: button("BackButton"),
      HapticFeedback: {
        impactOccurred(style) { log("haptic.impact", style); },
        notificationOccurred(type) { log("haptic.notify", type); },
        selectionChanged() { log("haptic.select"); },
      },
      isVersionAtLeast: atLeast,
      ready() { log("ready"); },
      expand() { this.isExpanded = true; log("expand"); },
      onEvent(name, cb) { (events[name] ||= []).push(cb); },
      offEvent(name, cb) { events[name] = (events[name] || []).filter((x) => x !== cb); },
      setHeaderColor(c) { log("setHeaderColor", c); },
      setBackgroundColor(c) { log("setBackgroundColor", c); },
      disableVerticalSwipes() { log("disableVerticalSwipes"); },
      isClosingConfirmationEnabled: false,
      enableClosingConfirmation() {
        this.isClosingConfirmationEnabled = true;
        log("closingConfirmation", true);
      },
      disableClosingConfirmation() { this.isClosingConfirmationEnabled = false; },
      openTelegramLink(url) { log("openTelegramLink", url); },
      openLink(url) { log("openLink", url); },
      downloadFile(params) { log("downloadFile", params.url, params.file_name); },
      __calls: calls,
    },
  };
})();
"""
