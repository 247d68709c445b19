import type { Route } from "../router";
import { onLinkClick } from "../router";
import type { Lang } from "../i18n/messages";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { mayAct } from "../session/session";
import { LangSwitch } from "./LangSwitch";

/** The top bar: the views, who is logged in, the language switch. */
export function NavBar({ route, onLang }: { route: Route; onLang: (lang: Lang) => void }) {
  const { t } = useI18n();
  const { session } = useServices();
  const who = session.current?.claims;
  const link = (url: string, label: string, on: boolean) => (
    <a href={url} class={on ? "on" : ""} onClick={(e) => onLinkClick(e, url)}>
      {label}
    </a>
  );
  return (
    <header class="nav">
      <strong class="brand">kwanje · {t("appName")}</strong>
      <nav>
        {link("/wall", t("wall"), route.view === "wall")}
        {link("/alerts", t("alerts"), route.view === "alerts")}
        {link("/taxis", t("taxis"), route.view === "taxis")}
        {mayAct(who?.role) && link("/audit", t("audit"), route.view === "audit")}
      </nav>
      <span class="spacer" />
      {who && (
        <span class="who" data-testid="who">
          {who.sub} ({who.role})
        </span>
      )}
      <LangSwitch onChange={onLang} />
      {who && (
        <button type="button" onClick={() => session.end()}>
          {t("logout")}
        </button>
      )}
    </header>
  );
}
