import { describe, expect, it } from "vitest";

import type { DispatchStatsRow, TaxiLine, TerminalQueues } from "../src/api/types";
import { chartData, flaggedTaxis, holds, orderedLines, parseSlots, slotsToText } from "../src/state/taxis";

const line = (scope: string, cls: string, waiting: Partial<TaxiLine["waiting"][number]>[] = []): TaxiLine => ({
  line: { scope, class: cls },
  curb_slots: 2,
  curb: [],
  waiting: waiting.map((w, i) => ({
    position: i + 1,
    plate: `P${i}`,
    ticket: i,
    entered_ms: i,
    priority: false,
    priority_earned_ms: null,
    suspended: false,
    service_region: scope,
    ...w,
  })),
});

const row = (terminal: string, region: string, cls: string, more: Partial<DispatchStatsRow> = {}): DispatchStatsRow => ({
  terminal,
  region,
  class: cls,
  served: 1,
  wait_total_ms: 60000,
  wait_mean_ms: 60000,
  wait_p50_ms: 90000,
  wait_max_ms: null,
  short_trips: 1,
  long_trips: 3,
  no_shows: 0,
  refusals: 0,
  holds: 0,
  ...more,
});

describe("taxi lines", () => {
  it("go by region, then standard, deluxe, jumbo", () => {
    const ordered = orderedLines([line("seoul", "jumbo"), line("incheon", "deluxe"), line("seoul", "standard"), line("incheon", "standard")]);
    expect(ordered.map((l) => `${l.line.scope}/${l.line.class}`)).toEqual([
      "incheon/standard",
      "incheon/deluxe",
      "seoul/standard",
      "seoul/jumbo",
    ]);
  });

  it("flag priority and suspended taxis in line order", () => {
    const q: TerminalQueues = {
      terminal: "T1",
      mode: "regional",
      curb_slots: { seoul: 2 },
      lines: [line("seoul", "standard", [{ plate: "A" }, { plate: "B", suspended: true }]), line("incheon", "standard", [{ plate: "C", priority: true }])],
      held: [],
    };
    expect(flaggedTaxis(q).map((f) => `${f.plate}@${f.line}#${f.position}`)).toEqual([
      "C@incheon · standard#1",
      "B@seoul · standard#2",
    ]);
  });
});

describe("curb slot plans", () => {
  it("read back what they print", () => {
    expect(parseSlots(slotsToText({ seoul: 2, incheon: 1 }), "regional")).toEqual({ ok: { seoul: 2, incheon: 1 } });
    expect(parseSlots(" all = 3 ", "integrated")).toEqual({ ok: { all: 3 } });
  });

  it("refuse what the mode does not take, instead of guessing", () => {
    expect(parseSlots("", "regional")).toHaveProperty("error");
    expect(parseSlots("seoul=2", "integrated")).toHaveProperty("error");
    expect(parseSlots("all=2", "regional")).toHaveProperty("error");
    expect(parseSlots("seoul=two", "regional")).toHaveProperty("error");
    expect(parseSlots("seoul=1, seoul=2", "regional")).toHaveProperty("error");
    expect(parseSlots("seoul=70000", "regional")).toHaveProperty("error");
  });
});

describe("dispatch figures", () => {
  it("are one terminal's rows in order, waits in minutes", () => {
    const rows = [row("T2", "seoul", "standard"), row("T1", "seoul", "jumbo"), row("T1", "incheon", "standard", { holds: 2 }), row("T1", "seoul", "standard", { holds: 1 })];
    const c = chartData(rows, "T1");
    expect(c.labels).toEqual(["incheon · standard", "seoul · standard", "seoul · jumbo"]);
    expect(c.waitP50).toEqual([1.5, 1.5, 1.5]);
    expect(c.waitMax).toEqual([null, null, null]);
    expect(holds(rows, "T1")).toBe(3);
    expect(chartData(rows, "T9").labels).toEqual([]);
  });
});
