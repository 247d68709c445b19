import { useMemo } from "preact/hooks";

import { AlertItem } from "../components/AlertItem";
import { SoundToggle } from "../components/SoundToggle";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { useTicker } from "../state/ticker";

/** Rows drawn at once: a storm of thousands stays a list the browser can draw in a frame. */
const SHOWN = 300;

/** Open and acknowledged alerts, most severe and newest first, live. */
export function Alerts() {
  const { t } = useI18n();
  const { alerts, alertTicks } = useServices();
  const tick = useTicker(alertTicks);
  const nodes = useMemo(() => alerts.sorted(), [tick, alerts.version]);
  const shown = nodes.slice(0, SHOWN);
  return (
    <main class="alerts" data-testid="alerts" data-alert-count={alerts.size}>
      <div class="toolbar">
        <span>
          {shown.length} / {nodes.length} {t("shownOf")}
        </span>
        <span class="spacer" />
        <SoundToggle />
      </div>
      {nodes.length === 0 ? (
        <p class="empty">{t("noAlerts")}</p>
      ) : (
        <ul class="alert-list">
          {shown.map((n) => (
            <AlertItem key={n.alert.id} node={n} />
          ))}
        </ul>
      )}
    </main>
  );
}
