import type { Lang } from "../i18n/messages";
import { useI18n } from "../i18n/i18n";

/** 한국어 / English, on every page. */
export function LangSwitch({ onChange }: { onChange: (lang: Lang) => void }) {
  const { lang } = useI18n();
  return (
    <div class="lang-switch" role="group" aria-label="language">
      <button type="button" class={lang === "ko" ? "on" : ""} data-lang="ko" onClick={() => onChange("ko")}>
        한국어
      </button>
      <button type="button" class={lang === "en" ? "on" : ""} data-lang="en" onClick={() => onChange("en")}>
        English
      </button>
    </div>
  );
}
