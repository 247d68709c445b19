// The alert list's model: open and acknowledged alerts, most severe and newest first, the
// suppressed ones folded under their parent. Pure; fed by the API and by /topic/alerts.

import type { Alert, AlertMessage, Severity } from "../api/types";

const RANK: Record<Severity, number> = { critical: 0, major: 1, minor: 2, info: 3 };

export interface AlertNode {
  alert: Alert;
  /** Alerts suppressed under this one (topology suppression). */
  children: Alert[];
  /** A critical alert told again while nobody acknowledged it. */
  renotified: boolean;
}

export class AlertBook {
  private readonly alerts = new Map<number, Alert>();
  private readonly renotified = new Set<number>();
  version = 0;

  load(alerts: Alert[]): void {
    this.alerts.clear();
    for (const a of alerts) this.alerts.set(a.id, a);
    this.version++;
  }

  /** An alert message: newer versions replace older ones, resolved alerts leave the list. */
  apply(m: AlertMessage): void {
    const { type, ...alert } = m;
    const known = this.alerts.get(alert.id);
    if (type === "alert.renotified") {
      this.renotified.add(alert.id);
    } else if (known && known.version > alert.version) {
      return;
    }
    if (alert.state === "resolved") {
      this.alerts.delete(alert.id);
      this.renotified.delete(alert.id);
    } else {
      this.alerts.set(alert.id, alert);
    }
    this.version++;
  }

  /** Replaces one alert with the server's answer (after an ack or resolve). */
  put(alert: Alert): void {
    this.apply({ ...alert, type: "alert.updated" });
  }

  get size(): number {
    return this.alerts.size;
  }

  sorted(): AlertNode[] {
    const roots: AlertNode[] = [];
    const children = new Map<number, Alert[]>();
    for (const a of this.alerts.values()) {
      if (a.suppressed_by !== undefined && this.alerts.has(a.suppressed_by)) {
        const list = children.get(a.suppressed_by) ?? [];
        list.push(a);
        children.set(a.suppressed_by, list);
      }
    }
    for (const a of this.alerts.values()) {
      if (a.suppressed_by !== undefined && this.alerts.has(a.suppressed_by)) continue;
      roots.push({ alert: a, children: (children.get(a.id) ?? []).sort(order), renotified: this.renotified.has(a.id) });
    }
    return roots.sort((x, y) => order(x.alert, y.alert));
  }
}

function order(a: Alert, b: Alert): number {
  return RANK[a.severity] - RANK[b.severity] || b.opened_ms - a.opened_ms || b.id - a.id;
}
