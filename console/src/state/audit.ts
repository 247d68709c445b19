// The audit view's filters: read from the view's URL (so a filtered view can be bookmarked),
// turned into the API's query, and written back when the operator changes them. Times in the
// URL are the airport's local time ("2026-12-03T14:05"), as the operator types them; the API
// takes epoch milliseconds.

export interface AuditFilters {
  actor: string;
  action: string;
  target: string;
  /** Airport local time, `YYYY-MM-DDTHH:MM`, or "". */
  since: string;
  until: string;
}

export const NO_FILTERS: AuditFilters = { actor: "", action: "", target: "", since: "", until: "" };

const KEYS = ["actor", "action", "target", "since", "until"] as const;

export function filtersFromQuery(query: URLSearchParams): AuditFilters {
  const f = { ...NO_FILTERS };
  for (const k of KEYS) f[k] = (query.get(k) ?? "").trim();
  return f;
}

/** The view's own query string: only the filters that are set, in a fixed order. */
export function filtersToQuery(f: AuditFilters): string {
  const q = new URLSearchParams();
  for (const k of KEYS) if (f[k].trim()) q.set(k, f[k].trim());
  const s = q.toString();
  return s ? `?${s}` : "";
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Epoch ms of a wall-clock time in `tz`, or null when `local` is not `YYYY-MM-DDTHH:MM[:SS]`. */
export function zonedToMs(local: string, tz: string): number | null {
  const m = LOCAL.exec(local);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(asUtc)) return null;
  // The zone's offset at that instant, read back through Intl; twice, for a change of offset
  // between the guess and the answer (daylight saving).
  let ms = asUtc - offsetMs(asUtc, tz);
  ms = asUtc - offsetMs(ms, tz);
  return ms;
}

function offsetMs(ms: number, tz: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(ms);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - (ms - (ms % 1000));
}

/** The API's query for `f`, or the name of the filter that cannot be read. */
export function apiQuery(f: AuditFilters, tz: string): URLSearchParams | { bad: keyof AuditFilters } {
  const q = new URLSearchParams();
  for (const k of ["actor", "action", "target"] as const) if (f[k]) q.set(k, f[k]);
  for (const k of ["since", "until"] as const) {
    if (!f[k]) continue;
    const ms = zonedToMs(f[k], tz);
    if (ms === null) return { bad: k };
    q.set(k, String(ms));
  }
  return q;
}
