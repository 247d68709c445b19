import { useEffect, useState } from "preact/hooks";

import type { Command, CommandKind, Device } from "../api/types";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { mayAct } from "../session/session";

/** The commands an operator gives a device, as they make sense for it. */
function offered(device: Device): CommandKind[] {
  const kinds: CommandKind[] = [];
  if (device.standby_id) kinds.push(device.active ? "switch_to_standby" : "failback");
  kinds.push("restart");
  kinds.push(device.state === "maintenance" ? "maintenance_off" : "maintenance_on");
  return kinds;
}

/** The device's recent commands with their live status, and the buttons to issue new ones
 * (only for a role that may). */
export function CommandPanel({ device }: { device: Device }) {
  const { t, word, time } = useI18n();
  const { api, live, session } = useServices();
  const [commands, setCommands] = useState<Command[]>([]);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const act = mayAct(session.current?.claims.role);

  // The POST's answer may come after the live update that the command was acked: the newer
  // of the two (by updated_ms) stays.
  const upsert = (c: Command) =>
    setCommands((list) => {
      const known = list.find((x) => x.id === c.id);
      if (known && known.updated_ms > c.updated_ms) return list;
      const rest = list.filter((x) => x.id !== c.id);
      return [c, ...rest].sort((a, b) => b.id - a.id).slice(0, 20);
    });

  useEffect(() => {
    const load = () =>
      api.commandsOf(device.id).then(
        (p) => setCommands(p.items),
        () => undefined,
      );
    void load();
    return live.on({
      command: (m) => {
        if (m.device_id !== device.id) return;
        const { type: _type, ...command } = m;
        upsert(command);
      },
      reconnected: () => void load(),
    });
  }, [device.id]);

  const issue = async (kind: CommandKind) => {
    setError(null);
    try {
      upsert(await api.issue(device.id, kind, reason));
      setReason("");
    } catch (e) {
      setError(String(e));
    }
  };

  return (
    <section class="commands" data-testid="commands">
      <h3>{t("commands")}</h3>
      {act ? (
        <div class="command-buttons">
          <input placeholder={t("reason")} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          {offered(device).map((k) => (
            <button type="button" key={k} data-command={k} onClick={() => issue(k)}>
              {word("command", k)}
            </button>
          ))}
        </div>
      ) : (
        <p class="notice" data-testid="viewer-only">
          {t("viewerOnly")}
        </p>
      )}
      {error && <p class="error">{error}</p>}
      {commands.length === 0 ? (
        <p class="empty">{t("noCommands")}</p>
      ) : (
        <table>
          <tbody>
            {commands.map((c) => (
              <tr key={c.id} data-command-id={c.id} data-command-kind={c.kind} data-command-state={c.state}>
                <td>{time(c.created_ms)}</td>
                <td>{word("command", c.kind)}</td>
                <td class={`cmd-${c.state}`}>{word("cmdstate", c.state)}</td>
                <td>{c.issued_by}</td>
                <td>{c.detail ?? c.reason ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
