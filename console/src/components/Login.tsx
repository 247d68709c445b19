import { useState } from "preact/hooks";

import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";

/** The login form, drawn over the view (which stays as it was) when there is no session. */
export function Login({ expired }: { expired: boolean }) {
  const { t } = useI18n();
  const { api, session } = useServices();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.login(username, password);
      setPassword("");
      session.set(answer.access_token);
    } catch {
      setError(t("loginFailed"));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-backdrop">
      <form class="login" onSubmit={submit} data-testid="login">
        <h1>kwanje · {t("appName")}</h1>
        {expired && <p class="notice">{t("sessionExpired")}</p>}
        <label>
          {t("username")}
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          {t("password")}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && <p class="error">{error}</p>}
        <button type="submit" disabled={busy}>
          {t("login")}
        </button>
      </form>
    </div>
  );
}
