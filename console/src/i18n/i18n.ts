// The language (Korean when the browser prefers it, or the operator's choice) and the
// airport's time zone (from the server's index.html, Asia/Seoul by default).

import { createContext } from "preact";
import { useContext } from "preact/hooks";

import { MESSAGES, type Lang, type MessageKey } from "./messages";

const LANG_KEY = "kwanje.lang";
const DEFAULT_TIME_ZONE = "Asia/Seoul";

/** The operator's choice, else Korean if the browser lists Korean before English, else English. */
export function initialLang(): Lang {
  const chosen = localStorage.getItem(LANG_KEY);
  if (chosen === "ko" || chosen === "en") return chosen;
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = l.toLowerCase().split("-")[0];
    if (base === "ko") return "ko";
    if (base === "en") return "en";
  }
  return "en";
}

export function rememberLang(lang: Lang): void {
  localStorage.setItem(LANG_KEY, lang);
}

/** The time zone the server put in index.html (placeholder left in a dev build: the default). */
export function timeZone(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="kwanje-time-zone"]');
  const tz = meta?.content ?? "";
  if (!tz || tz.startsWith("__")) return DEFAULT_TIME_ZONE;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return tz;
  } catch {
    return DEFAULT_TIME_ZONE;
  }
}

export interface I18n {
  lang: Lang;
  t: (key: MessageKey) => string;
  /** A state, severity, command word: `t("state.down")` with a fallback to the raw value. */
  word: (prefix: string, value: string) => string;
  /** HH:MM:SS in the airport's time zone. */
  time: (ms: number) => string;
  /** YYYY-MM-DD HH:MM:SS in the airport's time zone. */
  dateTime: (ms: number) => string;
}

export function makeI18n(lang: Lang, tz: string): I18n {
  const dict: Record<string, string> = MESSAGES[lang];
  const time = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  const date = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
  return {
    lang,
    t: (key) => dict[key] ?? key,
    word: (prefix, value) => dict[`${prefix}.${value}`] ?? value,
    time: (ms) => time.format(ms),
    dateTime: (ms) => `${date.format(ms)} ${time.format(ms)}`,
  };
}

export const I18nContext = createContext<I18n>(makeI18n("en", DEFAULT_TIME_ZONE));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
