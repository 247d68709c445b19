// Figures, printed (never asserted): the time to a usable wall with the harness's devices
// (5,000 in tests/it/console_browser.rs), and the page's frame times while the harness raises
// 1,000 alerts within one second.

import { ask, env, measure, pageWithToken, run, step } from "./harness.mjs";

run(async (browser) => {
  const { token, devices } = JSON.parse(await ask("setup"));
  const page = await pageWithToken(browser, token);
  page.setDefaultTimeout(60000);

  step(`time to a usable wall with ${devices} devices`);
  await page.goto(`${env.base}/wall`);
  await page.waitForFunction((n) => document.querySelectorAll(".tile").length === n, devices, { polling: "raf" });
  const usable = await page.evaluate(() => performance.now());
  measure(`wall_usable_ms_${devices}_devices`, Math.round(usable));
  // Of which: the API answering the lists (pages of 1,000 devices, one after the other).
  const apiDone = await page.evaluate(() =>
    Math.max(0, ...performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/v1/")).map((e) => e.responseEnd)),
  );
  measure("wall_lists_loaded_ms", Math.round(apiDone));
  measure("wall_drawn_after_lists_ms", Math.round(usable - apiDone));

  step("frame times while 1,000 alerts arrive in one second");
  await page.click('header nav a[href="/alerts"]');
  await page.waitForSelector("[data-testid=alerts]");
  await page.evaluate(() => {
    const frames = [];
    let last = performance.now();
    const tick = (now) => {
      frames.push(now - last);
      last = now;
      window.__kwanjeFrames = frames;
      if (!window.__kwanjeStop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const storm = JSON.parse(await ask("alert-storm"));
  await page.waitForFunction(
    (n) => Number(document.querySelector("[data-testid=alerts]")?.getAttribute("data-alert-count")) >= n,
    storm.alerts,
    { polling: "raf" },
  );
  const shownAt = Date.now();
  const frames = await page.evaluate(() => {
    window.__kwanjeStop = true;
    return window.__kwanjeFrames;
  });
  const sorted = [...frames].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = frames.reduce((a, b) => a + b, 0) / Math.max(1, frames.length);
  measure("storm_alerts", storm.alerts);
  measure("storm_all_shown_after_first_sent_ms", shownAt - storm.started_ms);
  measure("storm_frames", frames.length);
  measure("storm_frame_mean_ms", mean.toFixed(1));
  measure("storm_frame_p95_ms", at(0.95).toFixed(1));
  measure("storm_frame_max_ms", at(1).toFixed(1));
});
