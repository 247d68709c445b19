import { useState } from "preact/hooks";

import type { Alert } from "../api/types";
import type { AlertNode } from "../state/alerts";
import { onLinkClick } from "../router";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { mayAct } from "../session/session";

/** One alert row: what, about whom, since when; acknowledge and resolve (each with a note) for
 * those who may act; its suppressed children folded under it. */
export function AlertItem({ node }: { node: AlertNode }) {
  const { t, word, dateTime } = useI18n();
  const { api, alerts, alertTicks, session } = useServices();
  const [note, setNote] = useState("");
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const a = node.alert;
  const act = mayAct(session.current?.claims.role);
  const run = async (call: () => Promise<Alert>) => {
    setError(null);
    try {
      alerts.put(await call());
      alertTicks.changed();
    } catch (e) {
      setError(String(e));
    }
  };
  return (
    <li
      class={`alert sev-${a.severity} st-${a.state}${node.renotified ? " renotified" : ""}`}
      data-alert-id={a.id}
      data-alert-state={a.state}
      data-subject-id={a.subject_id}
    >
      <div class="alert-main">
        <span class={`badge sev-${a.severity}`}>{word("severity", a.severity)}</span>
        <span class="kind">{a.kind}</span>
        <Subject alert={a} />
        <span class="state">{word("alert", a.state)}</span>
        {a.count > 1 && <span class="count">×{a.count}</span>}
        {node.renotified && <span class="badge renotified">{t("renotified")}</span>}
        <time>{dateTime(a.opened_ms)}</time>
        {a.acked_by && (
          <span class="acked">
            ✓ {a.acked_by}
            {a.ack_note ? `: ${a.ack_note}` : ""}
          </span>
        )}
      </div>
      {act && (
        <div class="alert-actions">
          <input
            placeholder={t("note")}
            value={note}
            data-testid="ack-note"
            onInput={(e) => setNote(e.currentTarget.value)}
          />
          {a.state === "open" && (
            <button type="button" data-action="ack" onClick={() => run(() => api.acknowledge(a.id, note))}>
              {t("acknowledge")}
            </button>
          )}
          <button type="button" data-action="resolve" onClick={() => run(() => api.resolve(a.id, note))}>
            {t("resolve")}
          </button>
        </div>
      )}
      {error && <p class="error">{error}</p>}
      {node.children.length > 0 && (
        <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
          <summary>
            {t("suppressed")} ({node.children.length})
          </summary>
          <ul class="children">
            {node.children.map((c) => (
              <li key={c.id} data-alert-id={c.id}>
                <span class={`badge sev-${c.severity}`}>{word("severity", c.severity)}</span> {c.kind}{" "}
                <Subject alert={c} />
              </li>
            ))}
          </ul>
        </details>
      )}
    </li>
  );
}

function Subject({ alert }: { alert: Alert }) {
  if (alert.subject_type !== "device") {
    return (
      <span class="subject">
        {alert.subject_type} {alert.subject_id}
      </span>
    );
  }
  const url = `/devices/${encodeURIComponent(alert.subject_id)}`;
  return (
    <a class="subject" href={url} onClick={(e) => onLinkClick(e, url)}>
      {alert.subject_id}
    </a>
  );
}
