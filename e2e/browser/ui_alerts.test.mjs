// The web UI in headless Chromium: sign in, an alert created over the API appears live
// without a reload, acknowledge it from its page and see the timeline entry, bulk-close;
// screenshots of the alert list and the alert page at phone and desktop widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { launchChromium, outputDir, PHONE, DESKTOP } from "./lib/chromium.mjs";
import { startKlaxon, api } from "./lib/klaxon.mjs";

const KEY = "browser-test-key-0001";
const PASSWORD = "admin-password-123";
let klaxon, browser;

before(async () => {
  klaxon = await startKlaxon({
    config: `integrations:\n  - {name: prom, type: api, api_key: ${KEY}}\n`,
    env: { KLAXON_ADMIN_PASSWORD: PASSWORD },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await klaxon?.stop();
});

async function shot(page, name) {
  await page.evaluate(() => document.activeElement?.blur());
  for (const [label, size] of [["phone", PHONE], ["desktop", DESKTOP]]) {
    await page.setViewportSize(size);
    // Nothing may stick out sideways at either width.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, `${name} overflows horizontally at ${label} width by ${overflow}px`);
    await page.screenshot({ path: path.join(outputDir(), `ui-${name}-${label}.png`), fullPage: true });
  }
}

async function createAlert(body) {
  const r = await api(klaxon.url, KEY, "POST", "/v2/alerts", body);
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

test("sign in, live list, acknowledge from the alert page, bulk close", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  try {
    // Not signed in: the list sends to the sign-in page.
    await page.goto(`${klaxon.url}/ui/alerts`);
    assert.match(page.url(), /\/ui\/login\?next=/);
    await page.fill("#username", "admin");
    await page.fill("#password", "not the password");
    await page.click("button[type=submit]");
    await page.waitForSelector("#login-error");
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForURL(/\/ui\/alerts$/), page.click("button[type=submit]")]);

    // The first Tab reaches the skip link: the page is usable from the keyboard.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");

    await page.waitForFunction(() => document.getElementById("live-status")?.textContent === "Live");
    await page.evaluate(() => (window.__sameDocument = true));
    await createAlert({
      message: "Disk full on db1",
      alias: "disk-db1",
      priority: "P1",
      tags: ["db", "prod"],
      description: "The /var volume on db1 is at 99%.",
      details: { runbook: "https://runbooks.example.com/disk", host: "db1.prod.example.com" },
    });
    await page.waitForSelector("ul.alerts >> text=Disk full on db1", { timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "appeared without a reload");
    for (let i = 1; i <= 3; i++) {
      await createAlert({ message: `Latency high on api${i}`, alias: `lat-${i}`, priority: "P3", tags: ["api"] });
    }
    await page.waitForSelector("ul.alerts >> text=Latency high on api3", { timeout: 10_000 });
    await shot(page, "alert-list");

    // The alert page: acknowledge, and the timeline says who did it from where.
    await Promise.all([page.waitForURL(/\/ui\/alerts\/\d+$/), page.click("text=Disk full on db1")]);
    assert.equal(await page.getAttribute("a.runbook", "href"), "https://runbooks.example.com/disk");
    await Promise.all([page.waitForURL(/req=/), page.click("button:has-text('Acknowledge')")]);
    await page.waitForSelector("#timeline >> text=Alert acknowledged via Web[UI] by admin");
    assert.ok(await page.isVisible("text=Done: Acknowledge."));
    await page.fill("#note", "Cleaning up old logs on /var.");
    await Promise.all([page.waitForURL(/req=/), page.click("button:has-text('Add note')")]);
    await page.waitForSelector("text=Cleaning up old logs on /var.");
    await shot(page, "alert-page");
    const acked = await api(klaxon.url, KEY, "GET", "/v2/alerts/disk-db1?identifierType=alias");
    assert.equal(acked.body.data.acknowledged, true);
    assert.equal(acked.body.data.report.acknowledgedBy, "admin");

    // Bulk close two of the three latency alerts from the list.
    await page.goto(`${klaxon.url}/ui/alerts`);
    for (const n of [1, 2]) {
      const row = page.locator("ul.alerts li", { hasText: `Latency high on api${n}` });
      await row.locator("input[type=checkbox]").check();
    }
    await Promise.all([page.waitForURL(/done=/), page.click("button:has-text('Close selected')")]);
    assert.ok(await page.isVisible("text=Closed 2 alert(s)."));
    assert.equal(await page.locator("ul.alerts >> text=Latency high on api1").count(), 0);
    assert.equal(await page.locator("ul.alerts >> text=Latency high on api3").count(), 1);
    const closed = await api(klaxon.url, KEY, "GET", "/v2/alerts/count?query=status%3Aclosed");
    assert.equal(closed.body.data.count, 2);
  } finally {
    await context.close();
  }
});
