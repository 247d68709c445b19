// What every view reaches: the session, the API client, the live client and the models they
// feed. Built once at start-up (main.tsx) and handed down by context.

import { createContext } from "preact";
import { useContext } from "preact/hooks";

import { Api } from "./api/client";
import { Live } from "./live/live";
import { Session } from "./session/session";
import { AlertBook } from "./state/alerts";
import { DeviceBook } from "./state/devices";
import { Ticker } from "./state/ticker";

export interface Services {
  session: Session;
  api: Api;
  live: Live;
  devices: DeviceBook;
  alerts: AlertBook;
  /** Ticks when `devices` changed. */
  deviceTicks: Ticker;
  /** Ticks when `alerts` changed. */
  alertTicks: Ticker;
  /** Ticks when a terminal's lines may have changed (a dispatch event, a reconnect). */
  dispatchTicks: Ticker;
}

export function makeServices(): Services {
  const session = new Session();
  const api = new Api({ token: () => session.tokenValue(), onUnauthorized: () => session.end() });
  const live = new Live();
  const services: Services = {
    session,
    api,
    live,
    devices: new DeviceBook(),
    alerts: new AlertBook(),
    deviceTicks: new Ticker(),
    alertTicks: new Ticker(),
    dispatchTicks: new Ticker(),
  };
  live.on({
    device: (m) => {
      if (services.devices.apply(m)) services.deviceTicks.changed();
    },
    presence: (m) => {
      services.devices.presence(m);
      services.deviceTicks.changed();
    },
    alert: (m) => {
      services.alerts.apply(m);
      services.alertTicks.changed();
    },
    dispatch: () => services.dispatchTicks.changed(),
    // Back after a gap: reload the lists, so what changed meanwhile shows.
    reconnected: () => {
      void reload(services);
      services.dispatchTicks.changed();
    },
  });
  return services;
}

/** Loads the wall's devices and gate PCs and the open alerts afresh. */
export async function reload(s: Services): Promise<void> {
  if (!s.session.current) return;
  try {
    const [devices, clients, alerts] = await Promise.all([s.api.devices(), s.api.clients(), s.api.liveAlerts()]);
    s.devices.load(devices, clients);
    s.alerts.load(alerts);
    s.deviceTicks.changed();
    s.alertTicks.changed();
  } catch {
    // A 401 ends the session (the login shows); anything else: the next reconnect retries.
  }
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error("ServicesContext missing");
  return s;
}
