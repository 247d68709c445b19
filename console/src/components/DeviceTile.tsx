import type { Device } from "../api/types";
import { onLinkClick } from "../router";
import { useI18n } from "../i18n/i18n";

/** How long a device that just went down keeps pulsing. */
const FRESH_MS = 10_000;

/** One device on the wall, coloured by state; a fresh change (down above all) pulses. */
export function DeviceTile({ device, changedAt }: { device: Device; changedAt: number | undefined }) {
  const { word } = useI18n();
  const fresh = changedAt !== undefined && Date.now() - changedAt < FRESH_MS;
  const url = `/devices/${encodeURIComponent(device.id)}`;
  return (
    <a
      href={url}
      class={`tile state-${device.state}${fresh ? " fresh" : ""}`}
      data-device-id={device.id}
      data-state={device.state}
      title={`${device.id} · ${device.kind} · ${word("state", device.state)}`}
      onClick={(e) => onLinkClick(e, url)}
    >
      {device.id}
    </a>
  );
}
