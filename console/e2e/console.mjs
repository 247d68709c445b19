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
  await shot(page, "console-alerts");

  step("switch to standby, acknowledged by the gate PC");
  await alert.locator("a.subject").click();
  await page.waitForSelector('[data-testid=device][data-device-id="cam-1"]');
  await page.click("button[data-command=switch_to_standby]");
  await page.waitForSelector('tr[data-command-kind="switch_to_standby"][data-command-state="acked"]');
  await page.waitForSelector('[data-testid=history] tr[data-transition-to="down"]');
  await shot(page, "console-device");

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
});
