// Telegram Mini App glue: the WebApp object (Telegram's telegram-web-app.js, or anything that
// provides the same API), its signed initData, theme colours, main/back buttons and haptics.
// Every call is guarded: outside Telegram, or on an old client, the page simply works without it.

import { loadScript } from "./api.js";

const SCRIPT = "https://telegram.org/js/telegram-web-app.js";

/** The WebApp object when there is one (the SDK loaded, or a host injected it). */
export const webApp = () => window.Telegram?.WebApp ?? null;

/** Opened from a bot's Mini App button: Telegram puts tgWebAppData in the URL fragment. */
export function launchedFromTelegram() {
  return /tgWebApp(Data|Version|Platform)=/.test(location.hash) || Boolean(webApp()?.initData);
}

/** Load Telegram's SDK when launched from Telegram and nothing provides it yet; never rejects. */
export async function loadTelegram(timeoutMs = 4000) {
  if (webApp() || !launchedFromTelegram()) return webApp();
  try {
    await loadScript(SCRIPT, timeoutMs);
  } catch {
    // No SDK (offline, blocked): the fragment still carries the signed init data.
  }
  return webApp();
}

/** The signed init data to send to POST /api/v1/auth/telegram ("" outside Telegram). */
export function initData() {
  const fromSdk = webApp()?.initData;
  if (fromSdk) return fromSdk;
  return new URLSearchParams(location.hash.slice(1)).get("tgWebAppData") || "";
}

/** The Telegram user's language (e.g. "th"), unverified: only a hint for the interface language. */
export const telegramLanguage = () => webApp()?.initDataUnsafe?.user?.language_code || "";

export function supports(version) {
  const app = webApp();
  if (!app) return false;
  if (typeof app.isVersionAtLeast === "function") return app.isVersionAtLeast(version);
  return true;
}

const THEME_VARS = {
  bg_color: "--tg-theme-bg-color",
  secondary_bg_color: "--tg-theme-secondary-bg-color",
  text_color: "--tg-theme-text-color",
  hint_color: "--tg-theme-hint-color",
  link_color: "--tg-theme-link-color",
  button_color: "--tg-theme-button-color",
  button_text_color: "--tg-theme-button-text-color",
  section_separator_color: "--tg-theme-section-separator-color",
  destructive_text_color: "--tg-theme-destructive-text-color",
};

/** Paint the page with the chat's theme (the SDK sets the same variables; a stand-in may not). */
export function applyTheme() {
  const app = webApp();
  if (!app) return;
  const root = document.documentElement;
  const theme = app.themeParams || {};
  for (const [key, cssVar] of Object.entries(THEME_VARS)) {
    if (typeof theme[key] === "string" && /^#[0-9a-f]{3,8}$/i.test(theme[key])) root.style.setProperty(cssVar, theme[key]);
  }
  if (app.colorScheme) {
    root.dataset.colorScheme = app.colorScheme;
    root.style.colorScheme = app.colorScheme;
  }
  root.classList.add("in-telegram");
  try {
    if (theme.bg_color && supports("6.1")) {
      app.setHeaderColor?.(theme.secondary_bg_color || theme.bg_color);
      app.setBackgroundColor?.(theme.bg_color);
    }
  } catch {
    // Older clients reject colours they do not know; the defaults are fine.
  }
}

/** Say the app is ready, take the full height, follow theme and viewport changes. */
export function startTelegram() {
  const app = webApp();
  if (!app) return null;
  applyTheme();
  app.onEvent?.("themeChanged", applyTheme);
  const viewport = () => {
    const h = app.viewportStableHeight || app.viewportHeight;
    if (h) document.documentElement.style.setProperty("--tg-viewport-stable-height", `${h}px`);
  };
  app.onEvent?.("viewportChanged", viewport);
  viewport();
  app.ready?.();
  app.expand?.();
  if (supports("7.7")) app.disableVerticalSwipes?.(); // scrolling the gallery must not close the app
  return app;
}

/** Light taps and outcome buzzes; silently nothing where unsupported. */
export const haptic = {
  tap(style = "light") {
    if (supports("6.1")) webApp()?.HapticFeedback?.impactOccurred?.(style);
  },
  select() {
    if (supports("6.1")) webApp()?.HapticFeedback?.selectionChanged?.();
  },
  notify(type) {
    if (supports("6.1")) webApp()?.HapticFeedback?.notificationOccurred?.(type);
  },
};

/** Telegram's main button, driven like a page button: text, enabled, busy, one click handler. */
export function mainButton(onClick) {
  const button = webApp()?.MainButton;
  if (!button) return null;
  button.onClick(onClick);
  return {
    set({ text, enabled = true, busy = false, visible = true }) {
      if (text) button.setText(text);
      if (visible) button.show();
      else button.hide();
      if (enabled && !busy) button.enable();
      else button.disable();
      if (busy) button.showProgress?.(false);
      else button.hideProgress?.();
    },
    hide() {
      button.hide();
    },
  };
}

/** Ask before the Mini App is swiped away while something paid for is in progress. */
export function confirmClosing(on) {
  const app = webApp();
  if (!app || !supports("6.2")) return;
  if (on) app.enableClosingConfirmation?.();
  else app.disableClosingConfirmation?.();
}

/** Telegram's back button: shown while `onBack` is set, hidden otherwise. */
let backHandler = null;
export function backButton(onBack) {
  const button = webApp()?.BackButton;
  if (!button || !supports("6.1")) return;
  if (backHandler) button.offClick?.(backHandler);
  backHandler = onBack;
  if (onBack) {
    button.onClick(onBack);
    button.show();
  } else {
    button.hide();
  }
}
