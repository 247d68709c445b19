import { useEffect, useRef, useState } from "preact/hooks";

import type { DispatchMode, DispatchStats, TerminalQueues } from "../api/types";
import { BarChart } from "../components/BarChart";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { mayAct } from "../session/session";
import { useTicker } from "../state/ticker";
import { chartData, flaggedTaxis, holds, lineName, orderedLines, parseSlots, slotsToText } from "../state/taxis";

/** Per terminal: its lines in dispatch order, the curb, the taxis to watch, the mode and slot
 * plan (an operator may change them) and the dispatch figures; live from `/topic/dispatch`. */
export function Taxis() {
  const { t } = useI18n();
  const { api, dispatchTicks } = useServices();
  const tick = useTicker(dispatchTicks);
  const [queues, setQueues] = useState<TerminalQueues[]>([]);
  const [stats, setStats] = useState<DispatchStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  // One load in flight; a change heard meanwhile loads once more after it.
  const loading = useRef<{ state: "idle" | "busy" | "again" }>({ state: "idle" });

  const load = async () => {
    const flight = loading.current;
    if (flight.state !== "idle") {
      flight.state = "again";
      return;
    }
    flight.state = "busy";
    try {
      const [q, s] = await Promise.all([api.queues(), api.dispatchStats()]);
      setQueues(q);
      setStats(s);
      setError(null);
    } catch (e) {
      setError(String(e));
    } finally {
      const again = String(flight.state) === "again";
      flight.state = "idle";
      if (again) void load();
    }
  };

  useEffect(() => void load(), [tick]);

  return (
    <main class="taxis" data-testid="taxis">
      {error && <p class="error">{error}</p>}
      {queues.map((q) => (
        <Terminal key={q.terminal} q={q} stats={stats} onChanged={() => void load()} />
      ))}
      {queues.length === 0 && !error && <p class="empty">{t("noTerminals")}</p>}
    </main>
  );
}

function Terminal({ q, stats, onChanged }: { q: TerminalQueues; stats: DispatchStats | null; onChanged: () => void }) {
  const { t, word, time } = useI18n();
  const { session } = useServices();
  const flagged = flaggedTaxis(q);
  const rows = stats?.items ?? [];
  const figures = chartData(rows, q.terminal);
  const unattributed = stats?.terminals.find((x) => x.terminal === q.terminal)?.holds_unattributed ?? 0;
  return (
    <section class="terminal" data-terminal={q.terminal} data-mode={q.mode}>
      <h2>
        {q.terminal} <span class="badge">{word("mode", q.mode)}</span>
        <span class="holds" data-testid="holds">
          {t("heldPlates")}: {holds(rows, q.terminal) + unattributed}
        </span>
      </h2>
      {mayAct(session.current?.claims.role) && <ModeSwitch q={q} onChanged={onChanged} />}
      <div class="lines">
        {orderedLines(q.lines).map((l) => (
          <div class="line" key={lineName(l)} data-line={`${l.line.scope}/${l.line.class}`}>
            <h3>
              {lineName(l)}{" "}
              <small>
                {t("curbSlots")} {l.curb_slots}
              </small>
            </h3>
            <ol class="curb">
              {l.curb.map((c) => (
                <li key={c.plate} data-plate={c.plate} data-curb-state={c.state}>
                  {c.bay === null ? "–" : `#${c.bay}`} {c.plate} <span class="state">{c.state}</span>
                </li>
              ))}
            </ol>
            <ol class="waiting">
              {l.waiting.map((w) => (
                <li
                  key={w.plate}
                  data-plate={w.plate}
                  data-position={w.position}
                  class={`${w.priority ? "priority" : ""}${w.suspended ? " suspended" : ""}`}
                >
                  {w.position}. {w.plate}
                  {w.priority && <span class="badge priority">{t("priority")}</span>}
                  {w.suspended && <span class="badge suspended">{t("suspended")}</span>}
                </li>
              ))}
            </ol>
          </div>
        ))}
      </div>
      {q.held.length > 0 && (
        <ul class="held" data-testid="held-list">
          {q.held.map((h) => (
            <li key={h.plate} data-plate={h.plate} data-reason={h.reason ?? ""}>
              {h.plate} {h.reason && <span class="badge held">{word("hold", h.reason)}</span>}{" "}
              <small>{time(h.held_ms)}</small>
            </li>
          ))}
        </ul>
      )}
      {flagged.length > 0 && (
        <p class="flagged" data-testid="flagged">
          {flagged.map((f) => `${f.plate} (${f.line} #${f.position}${f.priority ? `, ${t("priority")}` : ""}${f.suspended ? `, ${t("suspended")}` : ""})`).join(" · ")}
        </p>
      )}
      {figures.labels.length > 0 && (
      <div class="charts">
        <BarChart testid="chart-wait-p50" title={t("waitMedian")} labels={figures.labels} values={figures.waitP50} colour="#4da3ff" />
        <BarChart testid="chart-wait-max" title={t("waitMax")} labels={figures.labels} values={figures.waitMax} colour="#f2a33a" />
        <BarChart
          testid="chart-short"
          title={t("shortShare")}
          labels={figures.labels}
          values={figures.shortTrips.map((s, i) => {
            const all = s + (figures.longTrips[i] ?? 0);
            return all === 0 ? null : Math.round((100 * s) / all);
          })}
          colour="#7bd88f"
        />
        <BarChart testid="chart-no-shows" title={t("noShows")} labels={figures.labels} values={figures.noShows} colour="#ff6b6b" />
      </div>
      )}
    </section>
  );
}

function ModeSwitch({ q, onChanged }: { q: TerminalQueues; onChanged: () => void }) {
  const { t, word } = useI18n();
  const { api } = useServices();
  const [mode, setMode] = useState<DispatchMode>(q.mode);
  const [text, setText] = useState(slotsToText(q.curb_slots));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setMode(q.mode);
    setText(slotsToText(q.curb_slots));
  }, [q.mode, slotsToText(q.curb_slots)]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const slots = parseSlots(text, mode);
    if ("error" in slots) {
      setError(slots.error);
      return;
    }
    setError(null);
    try {
      await api.configureDispatch(q.terminal, mode, slots.ok);
      onChanged();
    } catch (err) {
      setError(String(err));
    }
  };
  return (
    <form class="toolbar mode-switch" data-testid="mode-switch" onSubmit={submit}>
      <select
        name="mode"
        value={mode}
        onChange={(e) => {
          const next = e.currentTarget.value as DispatchMode;
          setMode(next);
          if (next === "integrated" && !text.startsWith("all=")) setText("all=3");
        }}
      >
        <option value="regional">{word("mode", "regional")}</option>
        <option value="integrated">{word("mode", "integrated")}</option>
      </select>
      <input name="curb_slots" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit">{t("apply")}</button>
      {error && <span class="error">{error}</span>}
    </form>
  );
}
