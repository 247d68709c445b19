import { describe, expect, it } from "vitest";

import type { Alert } from "../src/api/types";
import { AlertBook } from "../src/state/alerts";

const alert = (id: number, more: Partial<Alert> = {}): Alert => ({
  id,
  subject_type: "device",
  subject_id: `cam-${id}`,
  kind: "heartbeat_missed",
  severity: "major",
  state: "open",
  count: 1,
  opened_ms: id,
  updated_ms: id,
  version: 1,
  ...more,
});

describe("the alert book", () => {
  it("puts the most severe first, then the newest, children under their parent", () => {
    const book = new AlertBook();
    book.load([alert(1), alert(2, { severity: "critical" }), alert(3), alert(4, { suppressed_by: 2 })]);
    const nodes = book.sorted();
    expect(nodes.map((n) => n.alert.id)).toEqual([2, 3, 1]);
    expect(nodes[0]?.children.map((c) => c.id)).toEqual([4]);
  });

  it("keeps the newer version, drops resolved alerts, marks re-notifications", () => {
    const book = new AlertBook();
    book.load([alert(1, { version: 3 })]);
    book.apply({ ...alert(1, { version: 2, count: 9 }), type: "alert.updated" });
    expect(book.sorted()[0]?.alert.version).toBe(3);
    book.apply({ ...alert(1, { version: 4, severity: "critical" }), type: "alert.renotified" });
    expect(book.sorted()[0]?.renotified).toBe(true);
    book.apply({ ...alert(1, { version: 5, state: "resolved" }), type: "alert.updated" });
    expect(book.size).toBe(0);
  });
});
