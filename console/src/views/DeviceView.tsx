import { useEffect, useMemo, useState } from "preact/hooks";

import type { Device } from "../api/types";
import { AlertItem } from "../components/AlertItem";
import { CommandPanel } from "../components/CommandPanel";
import { StateBadge } from "../components/StateBadge";
import { TransitionHistory } from "../components/TransitionHistory";
import { useI18n } from "../i18n/i18n";
import { onLinkClick } from "../router";
import { useServices } from "../services";
import { useTicker } from "../state/ticker";

/** One device: its state, history, alerts, gate PC and standby pair, and its commands. */
export function DeviceView({ id }: { id: string }) {
  const { t, dateTime } = useI18n();
  const { api, live, devices, alerts, alertTicks, deviceTicks } = useServices();
  const [device, setDevice] = useState<Device | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);
  const alertTick = useTicker(alertTicks);
  const deviceTick = useTicker(deviceTicks);

  useEffect(() => {
    setDevice(null);
    const load = () =>
      api.device(id).then(
        (d) => {
          setDevice(d);
          setError(null);
        },
        (e) => setError(String(e)),
      );
    void load();
    return live.on({
      device: (m) => {
        if (m.id !== id) return;
        setDevice((d) => (d ? { ...d, state: m.state, state_since_ms: m.at_ms, last_seen_ms: m.last_seen_ms, restarts: m.restarts } : d));
        setChanges((n) => n + 1);
      },
      command: (m) => {
        // A switch or failback changes which of the pair is active.
        if (m.device_id === id && m.state === "acked") void load();
      },
      reconnected: () => {
        void load();
        setChanges((n) => n + 1);
      },
    });
  }, [id]);

  const own = useMemo(
    () => alerts.sorted().filter((n) => n.alert.subject_type === "device" && n.alert.subject_id === id),
    [alertTick, id],
  );
  const gatePc = device ? devices.clients.get(device.client_id) : undefined;
  void deviceTick;

  if (error) return <main class="device"><p class="error">{error}</p></main>;
  if (!device) return <main class="device"><p>{t("loading")}</p></main>;
  const standbyUrl = device.standby_id ? `/devices/${encodeURIComponent(device.standby_id)}` : null;
  return (
    <main class="device" data-testid="device" data-device-id={device.id} data-state={device.state}>
      <h2>
        {device.id} <StateBadge state={device.state} />
      </h2>
      <dl class="facts">
        <dt>{t("kind")}</dt>
        <dd>{device.kind}</dd>
        <dt>{t("since")}</dt>
        <dd>{dateTime(device.state_since_ms)}</dd>
        <dt>{t("lastSeen")}</dt>
        <dd>{device.last_seen_ms ? dateTime(device.last_seen_ms) : "—"}</dd>
        <dt>{t("restarts")}</dt>
        <dd>{device.restarts}</dd>
        <dt>{t("gatePc")}</dt>
        <dd class={gatePc?.online ? "online" : "offline"}>
          {device.client_id} {gatePc ? (gatePc.online ? t("gatePcOnline") : t("gatePcOffline")) : ""}
        </dd>
        <dt>{t("standby")}</dt>
        <dd>
          {standbyUrl ? (
            <a href={standbyUrl} onClick={(e) => onLinkClick(e, standbyUrl)}>
              {device.standby_id}
            </a>
          ) : (
            "—"
          )}
        </dd>
        <dt>{t("activeRole")}</dt>
        <dd data-testid="active">{String(device.active)}</dd>
        <dt>site / zone / lane</dt>
        <dd>{[device.site, device.zone, device.lane].map((x) => x ?? "—").join(" / ")}</dd>
      </dl>
      <CommandPanel device={device} />
      <section class="device-alerts">
        <h3>{t("alerts")}</h3>
        {own.length === 0 ? (
          <p class="empty">{t("noAlerts")}</p>
        ) : (
          <ul class="alert-list">
            {own.map((n) => (
              <AlertItem key={n.alert.id} node={n} />
            ))}
          </ul>
        )}
      </section>
      <TransitionHistory deviceId={device.id} refresh={changes} />
    </main>
  );
}
