import { useEffect, useState } from "preact/hooks";

import type { AuditEntry } from "../api/types";
import { timeZone, useI18n } from "../i18n/i18n";
import { navigate } from "../router";
import { useServices } from "../services";
import { apiQuery, filtersFromQuery, filtersToQuery, type AuditFilters } from "../state/audit";

/** Who did what and when: the audit log, newest first, filtered by the view's URL. */
export function Audit({ query }: { query: URLSearchParams }) {
  const { t, dateTime } = useI18n();
  const { api } = useServices();
  const applied = filtersFromQuery(query);
  const key = filtersToQuery(applied);
  const [draft, setDraft] = useState<AuditFilters>(applied);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (from: string | null) => {
    const q = apiQuery(applied, timeZone());
    if ("bad" in q) {
      setError(`${t("badFilter")}: ${q.bad}`);
      return;
    }
    setError(null);
    setLoading(true);
    try {
      const page = await api.audit(q, from);
      setEntries((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (e) {
      setError(String(e));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    setDraft(applied);
    setEntries([]);
    void load(null);
  }, [key]);

  const field = (name: keyof AuditFilters, label: string, placeholder = "") => (
    <label>
      {label}
      <input
        name={name}
        placeholder={placeholder}
        data-testid={`audit-${name}`}
        value={draft[name]}
        onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
      />
    </label>
  );

  return (
    <main class="audit" data-testid="audit" data-loading={loading ? "1" : "0"}>
      <form
        class="toolbar filters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/audit${filtersToQuery(draft)}`);
        }}
      >
        {field("actor", t("actor"))}
        {field("action", t("action"), "alert.*")}
        {field("target", t("target"), "device:*")}
        {field("since", t("from"), "2026-12-03T09:00")}
        {field("until", t("to"), "2026-12-03T18:00")}
        <button type="submit" data-testid="audit-apply">
          {t("filter")}
        </button>
      </form>
      {error && <p class="error">{error}</p>}
      {entries.length === 0 && !loading && !error ? (
        <p class="empty">{t("noEntries")}</p>
      ) : (
        <table class="audit-table">
          <thead>
            <tr>
              <th>{t("when")}</th>
              <th>{t("actor")}</th>
              <th>{t("action")}</th>
              <th>{t("target")}</th>
              <th>{t("detail")}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-audit-id={e.id} data-action={e.action}>
                <td>
                  <time>{dateTime(e.at_ms)}</time>
                </td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>{e.target}</td>
                <td>{e.detail ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          {t("more")}
        </button>
      )}
    </main>
  );
}
