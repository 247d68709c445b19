import type { DeviceState } from "../api/types";
import { DEVICE_STATES } from "../api/types";
import { useI18n } from "../i18n/i18n";

/** Counts per state; each is a toggle of the wall's state filter. */
export function StateCounts({
  counts,
  selected,
  onToggle,
}: {
  counts: Record<DeviceState, number>;
  selected: DeviceState[];
  onToggle: (state: DeviceState | null) => void;
}) {
  const { t, word } = useI18n();
  return (
    <div class="counts">
      <button type="button" class={selected.length === 0 ? "on" : ""} onClick={() => onToggle(null)}>
        {t("allStates")}
      </button>
      {DEVICE_STATES.map((s) => (
        <button
          type="button"
          key={s}
          class={`count state-${s}${selected.includes(s) ? " on" : ""}`}
          data-count-state={s}
          onClick={() => onToggle(s)}
        >
          {word("state", s)} <b>{counts[s]}</b>
        </button>
      ))}
    </div>
  );
}
