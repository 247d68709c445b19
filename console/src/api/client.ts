// The one typed client of kwanje's HTTP API. Every call carries the session's token; a 401
// ends the session (the login comes back over the view), any other error is an ApiError with
// the server's problem+json.

import type {
  Alert,
  AuditEntry,
  Client,
  Command,
  CommandKind,
  Device,
  DispatchMode,
  DispatchStats,
  Page,
  Problem,
  TokenAnswer,
  TerminalQueues,
  Transition,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
  ) {
    super(problem ? `${problem.status} ${problem.title}: ${problem.detail}` : `HTTP ${status}`);
  }
}

export interface ApiOptions {
  /** The token of the session, or null before login. */
  token: () => string | null;
  /** Called on a 401: the token is missing, invalid or expired. */
  onUnauthorized: () => void;
}

const PAGE = 1000;

export class Api {
  constructor(private readonly options: ApiOptions) {}

  /** POST /api/v1/auth/token: no token needed. */
  async login(username: string, password: string): Promise<TokenAnswer> {
    return this.request<TokenAnswer>("POST", "/api/v1/auth/token", { username, password }, false);
  }

  /** Every device, page after page. */
  devices(): Promise<Device[]> {
    return this.all<Device>("/api/v1/devices");
  }

  device(id: string): Promise<Device> {
    return this.request<Device>("GET", `/api/v1/devices/${encodeURIComponent(id)}`);
  }

  /** One page of a device's transitions, newest first. */
  transitions(id: string, cursor: string | null = null, limit = 50): Promise<Page<Transition>> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set("cursor", cursor);
    return this.request("GET", `/api/v1/devices/${encodeURIComponent(id)}/transitions?${q}`);
  }

  clients(): Promise<Client[]> {
    return this.all<Client>("/api/v1/clients");
  }

  /** Open and acknowledged alerts (resolved ones are history). */
  async liveAlerts(): Promise<Alert[]> {
    const [open, acked] = await Promise.all([
      this.all<Alert>("/api/v1/alerts?state=open"),
      this.all<Alert>("/api/v1/alerts?state=acknowledged"),
    ]);
    return [...open, ...acked];
  }

  alertsOf(subjectId: string): Promise<Page<Alert>> {
    const q = new URLSearchParams({ subject_id: subjectId, limit: "50" });
    return this.request("GET", `/api/v1/alerts?${q}`);
  }

  acknowledge(id: number, note: string): Promise<Alert> {
    return this.request("POST", `/api/v1/alerts/${id}/ack`, note ? { note } : {});
  }

  resolve(id: number, note = ""): Promise<Alert> {
    return this.request("POST", `/api/v1/alerts/${id}/resolve`, note ? { note } : {});
  }

  /** One page of the audit log, newest first; `query` holds its filters (see state/audit.ts). */
  audit(query: URLSearchParams, cursor: string | null = null, limit = 100): Promise<Page<AuditEntry>> {
    const q = new URLSearchParams(query);
    q.set("limit", String(limit));
    if (cursor) q.set("cursor", cursor);
    return this.request("GET", `/api/v1/audit?${q}`);
  }

  commandsOf(deviceId: string): Promise<Page<Command>> {
    const q = new URLSearchParams({ device_id: deviceId, limit: "20" });
    return this.request("GET", `/api/v1/commands?${q}`);
  }

  issue(deviceId: string, kind: CommandKind, reason: string): Promise<Command> {
    const body = reason ? { kind, reason } : { kind };
    return this.request("POST", `/api/v1/devices/${encodeURIComponent(deviceId)}/commands`, body);
  }

  /** Every terminal's lines, in dispatch order (one page holds them all). */
  async queues(): Promise<TerminalQueues[]> {
    const page: Page<TerminalQueues> = await this.request("GET", "/api/v1/queues");
    return page.items;
  }

  dispatchStats(): Promise<DispatchStats> {
    return this.request("GET", "/api/v1/dispatch/stats");
  }

  /** Switches a terminal's mode and curb slot plan (operator+). */
  configureDispatch(terminal: string, mode: DispatchMode, curbSlots: Record<string, number>): Promise<unknown> {
    return this.request("PUT", `/api/v1/terminals/${encodeURIComponent(terminal)}/dispatch`, {
      mode,
      curb_slots: curbSlots,
    });
  }

  private async all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    const sep = path.includes("?") ? "&" : "?";
    do {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) q.set("cursor", cursor);
      const page: Page<T> = await this.request("GET", `${path}${sep}${q}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  private async request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.options.token();
    if (auth && token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const resp = await fetch(path, init);
    if (resp.status === 401 && auth) this.options.onUnauthorized();
    if (!resp.ok) {
      let problem: Problem | null = null;
      try {
        problem = (await resp.json()) as Problem;
      } catch {
        problem = null;
      }
      throw new ApiError(resp.status, problem);
    }
    return (await resp.json()) as T;
  }
}
