import { useMemo } from "preact/hooks";

import type { DeviceState } from "../api/types";
import { DEVICE_STATES } from "../api/types";
import { GatePcBox } from "../components/GatePcBox";
import { StateCounts } from "../components/StateCounts";
import { useI18n } from "../i18n/i18n";
import { navigate } from "../router";
import { useServices } from "../services";
import { useTicker } from "../state/ticker";

/** Every device by site, zone and gate PC, coloured by state, live. Filters live in the URL. */
export function Wall({ query }: { query: URLSearchParams }) {
  const { t } = useI18n();
  const { devices, deviceTicks } = useServices();
  const tick = useTicker(deviceTicks);
  const states = (query.get("state") ?? "")
    .split(",")
    .filter((s): s is DeviceState => (DEVICE_STATES as readonly string[]).includes(s));
  const text = query.get("q") ?? "";
  const groups = useMemo(() => devices.grouped({ states, text }), [tick, devices.version, states.join(), text]);
  const counts = useMemo(() => devices.counts(), [tick, devices.version]);

  const setQuery = (next: { state?: DeviceState[]; q?: string }) => {
    const q = new URLSearchParams();
    const s = next.state ?? states;
    const txt = next.q ?? text;
    if (s.length) q.set("state", s.join(","));
    if (txt) q.set("q", txt);
    const qs = q.toString();
    navigate(`/wall${qs ? `?${qs}` : ""}`, true);
  };
  const toggle = (s: DeviceState | null) => {
    if (s === null) setQuery({ state: [] });
    else setQuery({ state: states.includes(s) ? states.filter((x) => x !== s) : [...states, s] });
  };

  return (
    <main class="wall" data-testid="wall" data-devices={devices.devices.size}>
      <div class="toolbar">
        <StateCounts counts={counts} selected={states} onToggle={toggle} />
        <input
          type="search"
          placeholder={t("search")}
          value={text}
          data-testid="wall-search"
          onInput={(e) => setQuery({ q: e.currentTarget.value })}
        />
      </div>
      {groups.map((g) => (
        <section class="zone" key={`${g.site}/${g.zone}`}>
          <h3>
            {g.site || t("noSite")} › {g.zone || t("noZone")}
          </h3>
          <div class="gatepcs">
            {g.gatePcs.map((p) => (
              <GatePcBox key={p.client.id} group={p} changedAt={devices.changedAt} />
            ))}
          </div>
        </section>
      ))}
    </main>
  );
}
