import { describe, expect, it } from "vitest";

import { parseRoute } from "../src/router";

describe("parseRoute", () => {
  it("names each view by its path, keeping the query", () => {
    expect(parseRoute("/alerts", "").view).toBe("alerts");
    expect(parseRoute("/taxis", "").view).toBe("taxis");
    const audit = parseRoute("/audit", "?actor=kim&action=alert.ack");
    expect(audit.view).toBe("audit");
    expect(audit.query.get("actor")).toBe("kim");
    expect(parseRoute("/wall", "?state=down").query.get("state")).toBe("down");
  });

  it("decodes a device id and falls back to the wall", () => {
    expect(parseRoute("/devices/cam%201", "")).toMatchObject({ view: "device", id: "cam 1" });
    expect(parseRoute("/", "").view).toBe("wall");
    expect(parseRoute("/devices/a/b", "").view).toBe("wall");
    expect(parseRoute("/nowhere", "").view).toBe("wall");
  });
});
