import { useEffect, useState } from "preact/hooks";

import type { Transition } from "../api/types";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { StateBadge } from "./StateBadge";

/** A device's state changes, newest first, a page at a time. `refresh` changes reload it. */
export function TransitionHistory({ deviceId, refresh }: { deviceId: string; refresh: number }) {
  const { t, dateTime } = useI18n();
  const { api } = useServices();
  const [items, setItems] = useState<Transition[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  useEffect(() => {
    api.transitions(deviceId).then(
      (p) => {
        setItems(p.items);
        setCursor(p.next_cursor);
      },
      () => undefined,
    );
  }, [deviceId, refresh]);
  const more = async () => {
    if (!cursor) return;
    const p = await api.transitions(deviceId, cursor);
    setItems((list) => [...list, ...p.items]);
    setCursor(p.next_cursor);
  };
  return (
    <section class="history" data-testid="history">
      <h3>{t("history")}</h3>
      <table>
        <tbody>
          {items.map((x) => (
            <tr key={x.id} data-transition-to={x.to_state}>
              <td>{dateTime(x.at_ms)}</td>
              <td>
                <StateBadge state={x.from_state} /> → <StateBadge state={x.to_state} />
              </td>
              <td>{x.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" onClick={more}>
          {t("more")}
        </button>
      )}
    </section>
  );
}
