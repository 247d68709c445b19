import { useEffect, useRef, useState } from "preact/hooks";

import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";

/** An optional beep (Web Audio, no file to fetch) when a critical alert is raised or told again. */
export function SoundToggle() {
  const { t } = useI18n();
  const { live } = useServices();
  const [on, setOn] = useState(false);
  const audio = useRef<AudioContext | null>(null);
  useEffect(() => {
    if (!on) return;
    return live.on({
      alert: (m) => {
        if (m.severity !== "critical" || m.state !== "open" || m.type === "alert.updated") return;
        const ctx = (audio.current ??= new AudioContext());
        const osc = ctx.createOscillator();
        osc.frequency.value = 880;
        osc.connect(ctx.destination);
        osc.start();
        osc.stop(ctx.currentTime + 0.2);
      },
    });
  }, [on, live]);
  return (
    <button type="button" class={on ? "on" : ""} onClick={() => setOn(!on)}>
      {on ? t("soundOff") : t("soundOn")}
    </button>
  );
}
