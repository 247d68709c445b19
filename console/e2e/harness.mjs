// The browser tests' side of the conversation with the Rust harness (tests/it/console_browser.rs),
// which started the server and plays the gate PCs: a line `KWANJE <request>` on stdout asks it
// for something, and the test waits for its answer line on stdin (`ok ...`). Results are
// printed as `MEASURE name=value` lines, which the harness passes on.

import { createInterface } from "node:readline";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { chromium } from "playwright-core";

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (line) => waiting.shift()?.(line));

/** Asks the harness for `request` and resolves with its answer (after `ok `). */
export function ask(request) {
  return new Promise((resolve, reject) => {
    waiting.push((line) => (line.startsWith("ok") ? resolve(line.slice(3)) : reject(new Error(line))));
    process.stdout.write(`KWANJE ${request}\n`);
  });
}

export function measure(name, value) {
  process.stdout.write(`MEASURE ${name}=${value}\n`);
}

export function step(text) {
  process.stdout.write(`STEP ${text}\n`);
}

export const env = {
  base: required("KWANJE_BASE_URL"),
  chromium: process.env.KWANJE_CHROMIUM || "/usr/bin/chromium",
  shots: process.env.KWANJE_SCREENSHOTS || "e2e/out",
};

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export async function launch() {
  mkdirSync(env.shots, { recursive: true });
  return chromium.launch({
    executablePath: env.chromium,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/** A page whose session already holds `token` (a viewer, or a test that skips the form). */
export async function pageWithToken(browser, token, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
  await context.addInitScript((t) => sessionStorage.setItem("kwanje.token", t), token);
  const page = await context.newPage();
  watch(page);
  return page;
}

/** Page errors and CSP violations fail the run. */
export function watch(page) {
  page.on("pageerror", (e) => fail(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) fail(`CSP: ${m.text()}`);
  });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(env.shots, `${name}.png`), fullPage: false });
}

export function fail(message) {
  process.stderr.write(`FAIL ${message}\n`);
  process.exit(1);
}

/** Runs `body` with a browser, exits 0 when it finishes, 1 on any error. */
export async function run(body) {
  const browser = await launch();
  try {
    await body(browser);
    await browser.close();
    process.exit(0);
  } catch (e) {
    process.stderr.write(`FAIL ${e?.stack ?? e}\n`);
    await browser.close().catch(() => undefined);
    process.exit(1);
  }
}
