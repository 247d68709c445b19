// The console end to end, in a real Chromium against the real server (the Rust harness
// plays the gate PC pc-1, hosting cam-1 with its standby cam-2 and a few more devices).
// Every wait is for a fact on the page; the harness answers each request once it is done.

import { ask, env, measure, pageWithToken, run, shot, step, watch } from "./harness.mjs";

const TIMEOUT = 15000;

run(async (browser) => {
  // A Korean browser gets the Korean console.
  const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  watch(page);
  page.setDefaultTimeout(TIMEOUT);

  step("log in");
  await page.goto(`${env.base}/wall`);
  await page.fill("input[name=username]", "admin");
  await page.fill("input[name=password]", "admin-pw");
  await page.click("form[data-testid=login] button[type=submit]");
  await page.waitForSelector('[data-device-id="cam-1"][data-state="up"]');
  const navText = await page.textContent("header nav");
  if (!navText?.includes("상황판")) throw new Error(`not Korean: ${navText}`);
  await page.waitForSelector("[data-testid=live-banner]", { state: "detached" });
  await shot(page, "console-wall");

  step("a device whose heartbeats stop turns down on the wall, no reload");
  await page.evaluate(() => {
    window.__kwanjeNoReload = true;
  });
  const deadline = JSON.parse(await ask("stop-heartbeats cam-1"));
  await page.waitForSelector('[data-device-id="cam-1"][data-state="down"]');
  const shownAt = Date.now();
  if (!(await page.evaluate(() => window.__kwanjeNoReload === true))) throw new Error("the page reloaded");
  measure("down_shown_after_deadline_ms", shownAt - deadline.deadline_ms);

  step("acknowledge its alert and see it change");
  await page.click('header nav a[href="/alerts"]');
  const alert = page.locator('li.alert[data-subject-id="cam-1"]');
  await alert.waitFor();
  await alert.locator("[data-testid=ack-note]").fill("바리케이드 점검 중");
  await alert.locator("button[data-action=ack]").click();
  await page.waitForSelector('li.alert[data-subject-id="cam-1"][data-alert-state="acknowledged"]');
  const alertId = await alert.getAttribute("data-alert-id");
  await shot(page, "console-alerts");

  step("switch to standby, acknowledged by the gate PC");
  await alert.locator("a.subject").click();
  await page.waitForSelector('[data-testid=device][data-device-id="cam-1"]');
  await page.click("button[data-command=switch_to_standby]");
  await page.waitForSelector('tr[data-command-kind="switch_to_standby"][data-command-state="acked"]');
  await page.waitForSelector('[data-testid=history] tr[data-transition-to="down"]');
  await shot(page, "console-device");

  step("resolve the alert with a note");
  await page.click('header nav a[href="/alerts"]');
  const acked = page.locator(`li.alert[data-alert-id="${alertId}"]`);
  await acked.locator("[data-testid=ack-note]").fill("렌즈 청소 완료");
  await acked.locator("button[data-action=resolve]").click();
  await acked.waitFor({ state: "detached" });

  step("the audit view: filtered, and the filter kept in a bookmarkable URL");
  await page.click('header nav a[href="/audit"]');
  await page.waitForSelector("[data-testid=audit] tr[data-action]");
  await page.fill("[data-testid=audit-action]", "alert.resolve");
  await page.click("[data-testid=audit-apply]");
  await page.waitForURL(/\/audit\?action=alert\.resolve$/);
  const resolved = page.locator('[data-testid=audit] tr[data-action="alert.resolve"]');
  await resolved.waitFor();
  const row = (await resolved.textContent()) ?? "";
  if (!row.includes(`alert:${alertId}`) || !row.includes("렌즈 청소 완료") || !row.includes("admin")) {
    throw new Error(`audit row: ${row}`);
  }
  if ((await page.locator('[data-testid=audit] tr[data-action]:not([data-action="alert.resolve"])').count()) !== 0) {
    throw new Error("the audit filter let other actions through");
  }
  await shot(page, "console-audit");
  // The URL alone brings the same view back (a bookmark, a reload).
  await page.goto(`${env.base}/audit?action=alert.resolve`);
  await resolved.waitFor();
  if ((await page.inputValue("[data-testid=audit-action]")) !== "alert.resolve") throw new Error("filter not restored");

  step("a taxi arrival appears in its line, live; the mode switch; the figures");
  await page.click('header nav a[href="/taxis"]');
  const t1 = page.locator('[data-testid=taxis] section[data-terminal="T1"]');
  await t1.waitFor();
  await ask("taxi-arrival 12A3456");
  // A free curb slot: it is called forward at once, to bay 1 of its line.
  await t1.locator('.line[data-line="seoul/standard"] .curb li[data-plate="12A3456"]').waitFor();
  await t1.locator("[data-testid=mode-switch] select[name=mode]").selectOption("integrated");
  await t1.locator("[data-testid=mode-switch] input[name=curb_slots]").fill("all=2");
  await t1.locator("[data-testid=mode-switch] button[type=submit]").click();
  await page.waitForSelector('section[data-terminal="T1"][data-mode="integrated"] .line[data-line="all/standard"] li[data-plate="12A3456"]');
  // A plate nobody registered is held at the entrance, listed with why.
  await ask("unknown-plate-arrival 99X9999");
  await t1.locator('[data-testid=held-list] li[data-plate="99X9999"][data-reason="unregistered"]').waitFor();
  await ask("taxi-trip 4.5");
  await t1.locator('[data-testid=chart-wait-p50][data-bars="1"] canvas').waitFor();
  await shot(page, "console-taxis");
  await page.click('header nav a[href="/wall"]');

  step("the language switch");
  await page.click("button[data-lang=en]");
  await page.waitForFunction(() => document.querySelector("header nav")?.textContent?.includes("Wall"));

  step("the live banner while the server is away, and what changed meanwhile");
  await page.click('header nav a[href="/wall"]');
  await page.waitForSelector('[data-device-id="cam-1"][data-state="down"]');
  await ask("stop-server");
  await page.waitForSelector("[data-testid=live-banner]");
  const banner = await page.textContent("[data-testid=live-banner]");
  if (!/Not live since \d\d:\d\d:\d\d/.test(banner ?? "")) throw new Error(`banner: ${banner}`);
  await shot(page, "console-offline");
  // Back, and cam-1 heard from again meanwhile: the reload on reconnect shows it.
  await ask("start-server-and-heartbeat cam-1");
  await page.waitForSelector("[data-testid=live-banner]", { state: "detached", timeout: 30000 });
  await page.waitForSelector('[data-device-id="cam-1"][data-state="up"]');

  step("a viewer is not offered the operator's buttons");
  const viewerToken = await ask("viewer-token");
  const viewer = await pageWithToken(browser, viewerToken);
  viewer.setDefaultTimeout(TIMEOUT);
  await viewer.goto(`${env.base}/devices/cam-1`);
  await viewer.waitForSelector("[data-testid=viewer-only]");
  if ((await viewer.locator("button[data-command]").count()) !== 0) throw new Error("viewer offered commands");
  await viewer.goto(`${env.base}/alerts`);
  await viewer.waitForSelector("[data-testid=alerts]");
  if ((await viewer.locator("button[data-action]").count()) !== 0) throw new Error("viewer offered ack/resolve");
  if ((await viewer.locator('header nav a[href="/audit"]').count()) !== 0) throw new Error("viewer offered the audit log");
  await viewer.goto(`${env.base}/taxis`);
  await viewer.waitForSelector('[data-testid=taxis] section[data-terminal="T1"]');
  if ((await viewer.locator("[data-testid=mode-switch]").count()) !== 0) throw new Error("viewer offered the mode switch");

  step("session expiry brings back the login with what was on screen kept");
  const shortToken = await ask("short-token 3");
  const night = await pageWithToken(browser, shortToken);
  night.setDefaultTimeout(TIMEOUT);
  await night.goto(`${env.base}/audit?actor=admin`);
  await night.waitForSelector("[data-testid=audit] tr[data-action]");
  const before = await night.locator("[data-testid=audit] tbody tr").count();
  // The token's own expiry, no request needed: the login comes back over the view.
  await night.waitForSelector("form[data-testid=login] .notice");
  const kept = await night.locator("[data-testid=audit] tbody tr").count();
  if (kept !== before) throw new Error(`the view lost rows on expiry: ${before} -> ${kept}`);
  if ((await night.inputValue("[data-testid=audit-actor]")) !== "admin") throw new Error("the filter was lost on expiry");
  await shot(night, "console-expired");
  await night.fill("input[name=username]", "admin");
  await night.fill("input[name=password]", "admin-pw");
  await night.click("form[data-testid=login] button[type=submit]");
  await night.waitForSelector("form[data-testid=login]", { state: "detached" });
  if (!night.url().endsWith("/audit?actor=admin")) throw new Error(`moved away: ${night.url()}`);
  await night.waitForSelector("[data-testid=audit] tr[data-action]");
});
