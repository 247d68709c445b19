// The taxis view's pure parts: a terminal's lines in order, the taxis worth an operator's eye
// (priority and suspended), the curb slot plan as the operator types it, and the dispatch
// figures as chart series.

import type { DispatchMode, DispatchStatsRow, TaxiLine, TerminalQueues } from "../api/types";

const CLASS_ORDER = ["standard", "deluxe", "jumbo"];

/** Lines by region (or `all`) then class, standard before deluxe before jumbo. */
export function orderedLines(lines: readonly TaxiLine[]): TaxiLine[] {
  const rank = (c: string) => {
    const i = CLASS_ORDER.indexOf(c);
    return i < 0 ? CLASS_ORDER.length : i;
  };
  return [...lines].sort(
    (a, b) => a.line.scope.localeCompare(b.line.scope) || rank(a.line.class) - rank(b.line.class) || a.line.class.localeCompare(b.line.class),
  );
}

export interface Flagged {
  plate: string;
  line: string;
  position: number;
  priority: boolean;
  suspended: boolean;
}

/** The waiting taxis that are priority re-entries or suspended, in line order. */
export function flaggedTaxis(q: TerminalQueues): Flagged[] {
  const out: Flagged[] = [];
  for (const l of orderedLines(q.lines)) {
    for (const w of l.waiting) {
      if (w.priority || w.suspended) {
        out.push({ plate: w.plate, line: lineName(l), position: w.position, priority: w.priority, suspended: w.suspended });
      }
    }
  }
  return out;
}

export function lineName(l: TaxiLine): string {
  return `${l.line.scope} · ${l.line.class}`;
}

/** The plan as the operator edits it: `seoul=2, gyeonggi=1` (regional) or `all=3` (integrated). */
export function slotsToText(slots: Record<string, number>): string {
  return Object.entries(slots)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

export type SlotsParse = { ok: Record<string, number> } | { error: string };

/** Reads the operator's plan for `mode`; says what is wrong instead of guessing. */
export function parseSlots(text: string, mode: DispatchMode): SlotsParse {
  const slots: Record<string, number> = {};
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) return { error: "no slots" };
  for (const part of parts) {
    const m = /^([A-Za-z0-9_-]+)\s*=\s*(\d+)$/.exec(part);
    if (!m?.[1] || !m[2]) return { error: `not name=number: ${part}` };
    const n = Number(m[2]);
    if (n > 65535) return { error: `too many slots: ${part}` };
    if (m[1] in slots) return { error: `twice: ${m[1]}` };
    slots[m[1]] = n;
  }
  const names = Object.keys(slots);
  if (mode === "integrated" && (names.length !== 1 || names[0] !== "all")) {
    return { error: "integrated mode takes all=N" };
  }
  if (mode === "regional" && names.includes("all")) return { error: "regional mode takes one entry per region" };
  return { ok: slots };
}

export interface ChartData {
  /** One label per (region, class) row. */
  labels: string[];
  /** Median and maximum waits, in minutes (null where nothing was served). */
  waitP50: (number | null)[];
  waitMax: (number | null)[];
  shortTrips: number[];
  longTrips: number[];
  noShows: number[];
}

/** One terminal's figures, rows in (region, class) order, waits in minutes. */
export function chartData(rows: readonly DispatchStatsRow[], terminal: string): ChartData {
  const mine = rows
    .filter((r) => r.terminal === terminal)
    .sort((a, b) => a.region.localeCompare(b.region) || CLASS_ORDER.indexOf(a.class) - CLASS_ORDER.indexOf(b.class));
  const minutes = (ms: number | null) => (ms === null ? null : Math.round((ms / 60000) * 10) / 10);
  return {
    labels: mine.map((r) => `${r.region} · ${r.class}`),
    waitP50: mine.map((r) => minutes(r.wait_p50_ms)),
    waitMax: mine.map((r) => minutes(r.wait_max_ms)),
    shortTrips: mine.map((r) => r.short_trips),
    longTrips: mine.map((r) => r.long_trips),
    noShows: mine.map((r) => r.no_shows),
  };
}

/** Holds at a terminal's lot entrance (blacklisted or unusable plates), all rows together. */
export function holds(rows: readonly DispatchStatsRow[], terminal: string): number {
  return rows.filter((r) => r.terminal === terminal).reduce((n, r) => n + r.holds, 0);
}
