// The wall's model: every device and gate PC, kept current by live messages. Pure (no DOM,
// no network): the views read it, the live client and the API feed it.

import type { Client, Device, DeviceState, DeviceStateMessage, PresenceMessage } from "../api/types";
import { DEVICE_STATES } from "../api/types";

export interface WallFilter {
  /** Only devices in these states; empty: all. */
  states: DeviceState[];
  /** Matched against id, kind, gate PC, site, zone and lane. */
  text: string;
}

export interface GatePcGroup {
  client: Client | { id: string; name: string; site: null; online: boolean };
  devices: Device[];
}

export interface ZoneGroup {
  site: string;
  zone: string;
  gatePcs: GatePcGroup[];
}

export class DeviceBook {
  readonly devices = new Map<string, Device>();
  readonly clients = new Map<string, Client>();
  /** When each device last changed state on screen (for the eye-catching animation). */
  readonly changedAt = new Map<string, number>();
  /** Bumped on every change; views compare it to skip work. */
  version = 0;

  load(devices: Device[], clients: Client[]): void {
    this.devices.clear();
    for (const d of devices) this.devices.set(d.id, d);
    this.clients.clear();
    for (const c of clients) this.clients.set(c.id, c);
    this.version++;
  }

  /** A `device.state` message; older than what is shown: ignored. */
  apply(m: DeviceStateMessage): boolean {
    const d = this.devices.get(m.id);
    if (!d) return false;
    if (m.at_ms < d.state_since_ms) return false;
    this.devices.set(m.id, {
      ...d,
      state: m.state,
      state_since_ms: m.at_ms,
      last_seen_ms: m.last_seen_ms,
      restarts: m.restarts,
    });
    this.changedAt.set(m.id, Date.now());
    this.version++;
    return true;
  }

  presence(m: PresenceMessage): void {
    const c = this.clients.get(m.client_id);
    if (c) this.clients.set(c.id, { ...c, online: m.online });
    this.version++;
  }

  counts(): Record<DeviceState, number> {
    const counts = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0])) as Record<DeviceState, number>;
    for (const d of this.devices.values()) counts[d.state]++;
    return counts;
  }

  /** The devices that pass `filter`, by site, zone and gate PC, each level sorted by name. */
  grouped(filter: WallFilter): ZoneGroup[] {
    const text = filter.text.trim().toLowerCase();
    const zones = new Map<string, Map<string, Device[]>>();
    for (const d of this.devices.values()) {
      if (filter.states.length > 0 && !filter.states.includes(d.state)) continue;
      if (text && !matches(d, text)) continue;
      const key = `${d.site ?? ""}\u0000${d.zone ?? ""}`;
      let byClient = zones.get(key);
      if (!byClient) zones.set(key, (byClient = new Map()));
      let list = byClient.get(d.client_id);
      if (!list) byClient.set(d.client_id, (list = []));
      list.push(d);
    }
    const out: ZoneGroup[] = [];
    for (const [key, byClient] of zones) {
      const [site = "", zone = ""] = key.split("\u0000");
      const gatePcs: GatePcGroup[] = [];
      for (const [clientId, devices] of byClient) {
        devices.sort((a, b) => a.id.localeCompare(b.id));
        const client = this.clients.get(clientId) ?? { id: clientId, name: clientId, site: null, online: false };
        gatePcs.push({ client, devices });
      }
      gatePcs.sort((a, b) => a.client.id.localeCompare(b.client.id));
      out.push({ site, zone, gatePcs });
    }
    out.sort((a, b) => a.site.localeCompare(b.site) || a.zone.localeCompare(b.zone));
    return out;
  }
}

function matches(d: Device, text: string): boolean {
  return [d.id, d.kind, d.client_id, d.site, d.zone, d.lane].some((f) => f?.toLowerCase().includes(text));
}
