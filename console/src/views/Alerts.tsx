import type { VNode } from "preact";
import { useMemo } from "preact/hooks";

import type { AlertNode } from "../state/alerts";

import { AlertItem } from "../components/AlertItem";
import { SoundToggle } from "../components/SoundToggle";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";
import { useTicker } from "../state/ticker";

/** Rows drawn at once: a storm of thousands stays a list the browser can draw in a frame. */
const SHOWN = 300;

/** Each row as last drawn, by alert id: an unchanged alert (same object, same children, same
 * re-notification) hands Preact the same vnode, which it skips without diffing, so a storm
 * redraws the new rows only. */
const drawn = new Map<number, { node: AlertNode; vnode: VNode }>();

function row(n: AlertNode): VNode {
  const last = drawn.get(n.alert.id);
  const same =
    last &&
    last.node.alert === n.alert &&
    last.node.renotified === n.renotified &&
    last.node.children.length === n.children.length &&
    last.node.children.every((c, i) => c === n.children[i]);
  if (same) return last.vnode;
  const vnode = <AlertItem key={n.alert.id} node={n} />;
  drawn.set(n.alert.id, { node: n, vnode });
  return vnode;
}

/** Open and acknowledged alerts, most severe and newest first, live. */
export function Alerts() {
  const { t } = useI18n();
  const { alerts, alertTicks } = useServices();
  const tick = useTicker(alertTicks);
  const nodes = useMemo(() => alerts.sorted(), [tick, alerts.version]);
  const shown = nodes.slice(0, SHOWN);
  const rows = shown.map(row);
  if (drawn.size > shown.length) {
    const ids = new Set(shown.map((n) => n.alert.id));
    for (const id of drawn.keys()) if (!ids.has(id)) drawn.delete(id);
  }
  return (
    <main class="alerts" data-testid="alerts" data-alert-count={alerts.size}>
      <div class="toolbar">
        <span>
          {shown.length} / {nodes.length} {t("shownOf")}
        </span>
        <span class="spacer" />
        <SoundToggle />
      </div>
      {nodes.length === 0 ? (
        <p class="empty">{t("noAlerts")}</p>
      ) : (
        <ul class="alert-list">
          {rows}
        </ul>
      )}
    </main>
  );
}
