import { describe, expect, it } from "vitest";

import { apiQuery, filtersFromQuery, filtersToQuery, NO_FILTERS, zonedToMs } from "../src/state/audit";

describe("audit filters", () => {
  it("round-trip through the view's URL, empty ones left out", () => {
    const f = filtersFromQuery(new URLSearchParams("?actor=%20kim%20&since=2026-12-03T09:00&junk=1"));
    expect(f).toEqual({ ...NO_FILTERS, actor: "kim", since: "2026-12-03T09:00" });
    expect(filtersToQuery(f)).toBe("?actor=kim&since=2026-12-03T09%3A00");
    expect(filtersToQuery(NO_FILTERS)).toBe("");
  });

  it("read local times in the airport's zone", () => {
    // Seoul is UTC+9 all year.
    expect(zonedToMs("2026-12-03T09:00", "Asia/Seoul")).toBe(Date.UTC(2026, 11, 3, 0, 0));
    expect(zonedToMs("2026-12-03T09:00:30", "UTC")).toBe(Date.UTC(2026, 11, 3, 9, 0, 30));
    // Across a daylight saving change: New York in July is UTC-4, in December UTC-5.
    expect(zonedToMs("2026-07-01T12:00", "America/New_York")).toBe(Date.UTC(2026, 6, 1, 16, 0));
    expect(zonedToMs("2026-12-01T12:00", "America/New_York")).toBe(Date.UTC(2026, 11, 1, 17, 0));
    expect(zonedToMs("yesterday", "Asia/Seoul")).toBeNull();
  });

  it("become the API's query, or name the filter that cannot be read", () => {
    const q = apiQuery({ ...NO_FILTERS, action: "alert.ack", until: "2026-12-03T09:00" }, "Asia/Seoul");
    expect(q).toBeInstanceOf(URLSearchParams);
    expect((q as URLSearchParams).toString()).toBe(`action=alert.ack&until=${Date.UTC(2026, 11, 3, 0, 0)}`);
    expect(apiQuery({ ...NO_FILTERS, since: "3 pm" }, "Asia/Seoul")).toEqual({ bad: "since" });
  });
});
