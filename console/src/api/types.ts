// The API's shapes as the console reads them (API.md; the full reference is
// GET /api/v1/openapi.json). Times are epoch milliseconds.

export type DeviceState =
  | "unknown"
  | "up"
  | "down"
  | "unreachable"
  | "flapping"
  | "quarantined"
  | "maintenance";

export const DEVICE_STATES: readonly DeviceState[] = [
  "down",
  "unreachable",
  "flapping",
  "quarantined",
  "maintenance",
  "unknown",
  "up",
];

export interface Device {
  id: string;
  kind: string;
  client_id: string;
  site: string | null;
  zone: string | null;
  lane: string | null;
  standby_id: string | null;
  heartbeat_interval_ms: number;
  miss_tolerance: number;
  auto_failover: boolean;
  state: DeviceState;
  last_seen_ms: number | null;
  state_since_ms: number;
  restarts: number;
  active: boolean;
  alerts?: Alert[];
}

export interface Client {
  id: string;
  name: string;
  site: string | null;
  online: boolean;
}

export type Severity = "critical" | "major" | "minor" | "info";
export type AlertState = "open" | "acknowledged" | "resolved";

export interface Alert {
  id: number;
  subject_type: "device" | "client" | "taxi" | "terminal";
  subject_id: string;
  kind: string;
  severity: Severity;
  state: AlertState;
  count: number;
  detail?: string;
  opened_ms: number;
  updated_ms: number;
  acked_by?: string;
  acked_ms?: number;
  ack_note?: string;
  resolved_by?: string;
  resolved_ms?: number;
  suppressed_by?: number;
  version: number;
  notified_ms?: number;
}

export type CommandKind =
  | "switch_to_standby"
  | "failback"
  | "restart"
  | "fail_open"
  | "fail_closed"
  | "maintenance_on"
  | "maintenance_off";

export type CommandState = "pending" | "delivered" | "acked" | "failed" | "timed_out" | "expired";

export interface Command {
  id: number;
  device_id: string;
  client_id: string;
  kind: CommandKind;
  state: CommandState;
  reason?: string;
  detail?: string;
  issued_by: string;
  created_ms: number;
  updated_ms: number;
  expires_ms: number;
}

export interface Transition {
  id: number;
  device_id: string;
  from_state: DeviceState;
  to_state: DeviceState;
  reason: string;
  at_ms: number;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface TokenAnswer {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
}

/** application/problem+json */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

/** `device.state` on /topic/devices. */
export interface DeviceStateMessage {
  type: "device.state";
  id: string;
  kind: string;
  client_id: string;
  state: DeviceState;
  from: DeviceState;
  reason: string;
  detail: string | null;
  at_ms: number;
  last_seen_ms: number | null;
  restarts: number;
}

/** `alert.raised`, `alert.updated`, `alert.renotified` on /topic/alerts. */
export type AlertMessage = Alert & { type: "alert.raised" | "alert.updated" | "alert.renotified" };

/** `command.issued`, `command.updated` on /topic/commands. */
export type CommandMessage = Command & { type: "command.issued" | "command.updated" };

/** /topic/presence */
export interface PresenceMessage {
  type: "presence";
  client_id: string;
  online: boolean;
  at_ms: number;
}

/** One entry of the audit log (`GET /api/v1/audit`). */
export interface AuditEntry {
  id: number;
  at_ms: number;
  actor: string;
  action: string;
  target: string;
  detail: string | null;
}

export type DispatchMode = "regional" | "integrated";

export interface TaxiTicket {
  seq: number;
  entered_ms: number;
  priority_earned_ms: number | null;
}

/** A taxi called forward, or assigned and waiting for a bay (`bay: null`). */
export interface CurbTaxi {
  plate: string;
  bay: number | null;
  state: string;
  request: number | null;
  ticket: TaxiTicket;
  called_ms: number | null;
}

export interface WaitingTaxi {
  /** 1-based, suspended taxis included (they keep their place). */
  position: number;
  plate: string;
  ticket: number;
  entered_ms: number;
  priority: boolean;
  priority_earned_ms: number | null;
  suspended: boolean;
  service_region: string;
}

export interface TaxiLine {
  /** `scope`: a region, or `all` in integrated mode. */
  line: { scope: string; class: string };
  curb_slots: number;
  curb: CurbTaxi[];
  waiting: WaitingTaxi[];
}

/** One terminal's lines (`GET /api/v1/queues`). */
export interface TerminalQueues {
  terminal: string;
  mode: DispatchMode;
  curb_slots: Record<string, number>;
  lines: TaxiLine[];
  /** Plates held at the lot entrance for an operator, most recently held first. */
  held: HeldPlate[];
}

export type HoldReason = "unregistered" | "blacklisted" | "region_not_allowed";

export interface HeldPlate {
  plate: string;
  held_ms: number;
  /** `null` for a hold kept from before reasons were stored. */
  reason: HoldReason | null;
}

export interface DispatchStatsRow {
  terminal: string;
  region: string;
  class: string;
  served: number;
  wait_total_ms: number;
  wait_mean_ms: number | null;
  wait_p50_ms: number | null;
  wait_max_ms: number | null;
  short_trips: number;
  long_trips: number;
  no_shows: number;
  refusals: number;
  holds: number;
}

export interface DispatchStats {
  items: DispatchStatsRow[];
  terminals: { terminal: string; holds_unattributed: number; refusals_unknown_region: number }[];
  next_cursor: string | null;
}
