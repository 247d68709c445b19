import type { GatePcGroup } from "../state/devices";
import { useI18n } from "../i18n/i18n";
import { DeviceTile } from "./DeviceTile";

/** A gate PC (online or offline) and the devices it hosts. */
export function GatePcBox({ group, changedAt }: { group: GatePcGroup; changedAt: Map<string, number> }) {
  const { t } = useI18n();
  const { client, devices } = group;
  return (
    <section class={`gatepc ${client.online ? "online" : "offline"}`} data-client-id={client.id}>
      <h4>
        <span class="dot" /> {client.name || client.id}{" "}
        <small>{client.online ? t("gatePcOnline") : t("gatePcOffline")}</small>
      </h4>
      <div class="tiles">
        {devices.map((d) => (
          <DeviceTile key={d.id} device={d} changedAt={changedAt.get(d.id)} />
        ))}
      </div>
    </section>
  );
}
