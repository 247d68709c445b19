// The one live-state client: STOMP over SockJS (WebSocket first, then xhr-streaming, then
// xhr-polling), reconnecting with exponential backoff, re-subscribing on every connect. It
// says when the screen stopped being live, and tells its listeners on each reconnect so they
// reload their lists: nothing that changed while away is lost.

import { Client, ReconnectionTimeMode, type IMessage } from "@stomp/stompjs";
import SockJS from "sockjs-client";

import type { AlertMessage, CommandMessage, DeviceStateMessage, PresenceMessage } from "../api/types";

export const TOPICS = {
  devices: "/topic/devices",
  alerts: "/topic/alerts",
  commands: "/topic/commands",
  presence: "/topic/presence",
  dispatch: "/topic/dispatch",
} as const;

export interface LiveHandlers {
  device?: (m: DeviceStateMessage) => void;
  alert?: (m: AlertMessage) => void;
  command?: (m: CommandMessage) => void;
  presence?: (m: PresenceMessage) => void;
  /** A taxi or dispatch event (`taxi.*`, `dispatch.*`): some terminal's lines changed. */
  dispatch?: (m: unknown) => void;
  /** The connection is (again) live: reload what may have been missed. */
  reconnected?: () => void;
}

export interface LiveStatus {
  live: boolean;
  /** When the screen stopped being live; null while live or before the first connect. */
  since: number | null;
  /** The SockJS transport in use, when live. */
  transport: string | null;
}

type StatusListener = (s: LiveStatus) => void;

const SOCKJS_TRANSPORTS = ["websocket", "xhr-streaming", "xhr-polling"];

export class Live {
  private client: Client | null = null;
  private readonly handlers = new Set<LiveHandlers>();
  private readonly statusListeners = new Set<StatusListener>();
  private socket: WebSocket | null = null;
  status: LiveStatus = { live: false, since: null, transport: null };

  /** Connects with `token` (again, if connected with another one). */
  start(token: string): void {
    this.stop();
    const client = new Client({
      webSocketFactory: () => {
        const sock = new SockJS("/sockjs", null, { transports: SOCKJS_TRANSPORTS }) as unknown as WebSocket;
        this.socket = sock;
        return sock;
      },
      connectHeaders: { Authorization: `Bearer ${token}` },
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
      reconnectDelay: 500,
      maxReconnectDelay: 10000,
      reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
      onConnect: () => this.connected(),
      onWebSocketClose: () => this.lost(),
      onStompError: () => this.lost(),
    });
    this.client = client;
    client.activate();
  }

  stop(): void {
    const client = this.client;
    this.client = null;
    if (client) void client.deactivate();
  }

  /** Adds handlers; returns their removal. */
  on(handlers: LiveHandlers): () => void {
    this.handlers.add(handlers);
    return () => this.handlers.delete(handlers);
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    listener(this.status);
    return () => this.statusListeners.delete(listener);
  }

  private connected(): void {
    const client = this.client;
    if (!client) return;
    // Subscriptions end with the connection; every connect makes them afresh.
    const subscribe = (topic: string, deliver: (h: LiveHandlers, value: unknown) => void) =>
      client.subscribe(topic, (m) => this.each(m, deliver));
    subscribe(TOPICS.devices, (h, v) => h.device?.(v as DeviceStateMessage));
    subscribe(TOPICS.alerts, (h, v) => h.alert?.(v as AlertMessage));
    subscribe(TOPICS.commands, (h, v) => h.command?.(v as CommandMessage));
    subscribe(TOPICS.presence, (h, v) => h.presence?.(v as PresenceMessage));
    subscribe(TOPICS.dispatch, (h, v) => h.dispatch?.(v));
    const transport = (this.socket as unknown as { transport?: string } | null)?.transport ?? null;
    this.setStatus({ live: true, since: null, transport });
    for (const h of this.handlers) h.reconnected?.();
  }

  private lost(): void {
    if (this.status.live || this.status.since === null) {
      this.setStatus({ live: false, since: this.status.since ?? Date.now(), transport: null });
    }
  }

  private each(message: IMessage, deliver: (h: LiveHandlers, value: unknown) => void): void {
    let value: unknown;
    try {
      value = JSON.parse(message.body);
    } catch {
      return;
    }
    for (const h of this.handlers) deliver(h, value);
  }

  private setStatus(status: LiveStatus): void {
    this.status = status;
    for (const l of this.statusListeners) l(status);
  }
}
