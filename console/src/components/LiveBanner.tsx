import { useEffect, useState } from "preact/hooks";

import type { LiveStatus } from "../live/live";
import { useI18n } from "../i18n/i18n";
import { useServices } from "../services";

/** Says when the screen is not live, and since when; gone once it is live again. */
export function LiveBanner() {
  const { live } = useServices();
  const { t, time } = useI18n();
  const [status, setStatus] = useState<LiveStatus>(live.status);
  useEffect(() => live.onStatus(setStatus), [live]);
  if (status.live) return null;
  return (
    <div class="live-banner" role="alert" data-testid="live-banner">
      {status.since === null ? t("connecting") : `${t("notLiveSince")} ${time(status.since)}`}
    </div>
  );
}
