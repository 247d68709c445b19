// Batches change notices to one per animation frame: an alert storm or a burst of device
// changes costs one render per frame, not one per message.

import { useEffect, useState } from "preact/hooks";

type Listener = () => void;

export class Ticker {
  private readonly listeners = new Set<Listener>();
  private scheduled = false;

  /** Something changed: listeners hear of it once, at the next frame. */
  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Re-renders the calling component at most once a frame when `ticker` says something changed. */
export function useTicker(ticker: Ticker): number {
  const [tick, setTick] = useState(0);
  useEffect(() => ticker.subscribe(() => setTick((n) => n + 1)), [ticker]);
  return tick;
}
