import type { DeviceState } from "../api/types";
import { useI18n } from "../i18n/i18n";

/** A device state as a coloured word. */
export function StateBadge({ state }: { state: DeviceState }) {
  const { word } = useI18n();
  return <span class={`badge state-${state}`}>{word("state", state)}</span>;
}
