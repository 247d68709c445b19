import { useEffect, useMemo, useState } from "preact/hooks";

import { LiveBanner } from "./components/LiveBanner";
import { Login } from "./components/Login";
import { NavBar } from "./components/NavBar";
import { I18nContext, initialLang, makeI18n, rememberLang, timeZone } from "./i18n/i18n";
import type { Lang } from "./i18n/messages";
import { useRoute } from "./router";
import { reload, ServicesContext, type Services } from "./services";
import { Alerts } from "./views/Alerts";
import { Audit } from "./views/Audit";
import { Taxis } from "./views/Taxis";
import { DeviceView } from "./views/DeviceView";
import { Wall } from "./views/Wall";

/** The shell: language, session (the login drawn over the view), live connection, the view. */
export function App({ services }: { services: Services }) {
  const [lang, setLang] = useState<Lang>(initialLang);
  const i18n = useMemo(() => makeI18n(lang, timeZone()), [lang]);
  const route = useRoute();
  const { session, live } = services;
  const [token, setToken] = useState(session.current?.token ?? null);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  useEffect(
    () =>
      session.subscribe(() => {
        const next = session.current?.token ?? null;
        setToken((prev) => {
          if (prev && !next) setExpired(true);
          return next;
        });
      }),
    [session],
  );

  useEffect(() => {
    if (!token) {
      live.stop();
      return;
    }
    setExpired(false);
    live.start(token);
    void reload(services);
  }, [token]);

  // Views that load on their own need a session to start; once started, an expiry keeps them
  // on screen as they were, under the login.
  const shown = token !== null || expired;

  const changeLang = (l: Lang) => {
    rememberLang(l);
    setLang(l);
  };

  return (
    <ServicesContext.Provider value={services}>
      <I18nContext.Provider value={i18n}>
        <NavBar route={route} onLang={changeLang} />
        {token && <LiveBanner />}
        {route.view === "wall" && <Wall query={route.query} />}
        {route.view === "alerts" && <Alerts />}
        {route.view === "device" && shown && <DeviceView id={route.id} />}
        {route.view === "audit" && shown && <Audit query={route.query} />}
        {route.view === "taxis" && shown && <Taxis />}
        {!token && <Login expired={expired} />}
      </I18nContext.Provider>
    </ServicesContext.Provider>
  );
}
