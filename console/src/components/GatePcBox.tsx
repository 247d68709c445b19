import type { VNode } from "preact";

import type { Device } from "../api/types";
import type { GatePcGroup } from "../state/devices";
import { useI18n } from "../i18n/i18n";
import { DeviceTile } from "./DeviceTile";

/** Each device's tile as last drawn: a device object is replaced on every change, so an
 * unchanged one hands Preact the same vnode, which it skips without diffing. With 5,000
 * devices and a few changes a frame, only the changed tiles are drawn again. */
const drawn = new WeakMap<Device, VNode>();

function tile(d: Device, changedAt: number | undefined): VNode {
  let v = drawn.get(d);
  if (!v) {
    v = <DeviceTile key={d.id} device={d} changedAt={changedAt} />;
    drawn.set(d, v);
  }
  return v;
}

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
        {devices.map((d) => tile(d, changedAt.get(d.id)))}
      </div>
    </section>
  );
}
