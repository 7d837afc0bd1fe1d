// On call in headless Chromium: create an override from the schedule page and see it in the
// on-call overview; screenshots of the schedule's week and month views at phone and desktop
// widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { launchChromium, outputDir, PHONE, DESKTOP } from "./lib/chromium.mjs";
import { startKlaxon, BIN } from "./lib/klaxon.mjs";

const PASSWORD = "bob-password-123";
let klaxon, browser;

before(async () => {
  // The hash comes from the CLI, as an operator would make it for the config file.
  const hash = execFileSync(BIN, ["user", "hash-password"], { input: `${PASSWORD}\n` })
    .toString()
    .trim();
  assert.match(hash, /^\$argon2id\$/);
  klaxon = await startKlaxon({
    config: `
users:
  - {username: alice@example.com, full_name: Alice}
  - {username: carol@example.com, full_name: Carol}
  - {username: bob@example.com, full_name: Bob, password_hash: '${hash}'}
teams:
  - {name: sre, members: [alice@example.com, bob@example.com, carol@example.com]}
schedules:
  - name: sre-primary
    time_zone: Europe/Berlin
    team: sre
    rotations:
      - {name: days, type: daily, start: 2026-01-05 09:00, participants: [alice@example.com, carol@example.com]}
`,
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
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, `${name} overflows horizontally at ${label} width by ${overflow}px`);
    await page.screenshot({ path: path.join(outputDir(), `ui-${name}-${label}.png`), fullPage: true });
  }
}

test("create an override and see it in the on-call view", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  try {
    await page.goto(`${klaxon.url}/ui/oncall`);
    await page.fill("#username", "bob@example.com");
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForURL(/\/ui\/oncall$/), page.click("button[type=submit]")]);
    const nowCell = page.locator("td.oncall-now").first();
    const before = await nowCell.innerText();
    assert.match(before, /(alice|carol)@example\.com/);
    assert.doesNotMatch(before, /bob@example\.com/);

    await Promise.all([page.waitForURL(/\/ui\/oncall\/[^/]+$/), page.click("text=sre-primary")]);
    await shot(page, "schedule-week");
    // The form's defaults are now → in an hour; bob takes it.
    await page.selectOption("#ov-user", "bob@example.com");
    await Promise.all([page.waitForURL(/done=/), page.click("button:has-text('Create override')")]);
    assert.ok(await page.isVisible("text=Override created: bob@example.com is on call then."));
    assert.ok((await page.locator(".cal .shift.override", { hasText: "bob@example.com" }).count()) >= 1);

    await page.click("a.chip:has-text('Month')");
    await page.waitForURL(/view=month/);
    await shot(page, "schedule-month");

    await page.goto(`${klaxon.url}/ui/oncall`);
    assert.match(await page.locator("td.oncall-now").first().innerText(), /bob@example\.com/);
  } finally {
    await context.close();
  }
});
