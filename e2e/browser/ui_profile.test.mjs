// My profile, escalation policies and teams in headless Chromium: add a webhook contact method
// and send a test page that a real local webhook receiver gets (content checked); create an
// escalation policy from its form and look at a team; screenshots at phone and desktop widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { launchChromium, outputDir, PHONE, DESKTOP } from "./lib/chromium.mjs";
import { startKlaxon } from "./lib/klaxon.mjs";

const PASSWORD = "admin-password-123";
let klaxon, browser, receiver;
const hits = [];

before(async () => {
  // A real HTTP server on loopback that records what Klaxon posts to it.
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      hits.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  klaxon = await startKlaxon({
    config: `
users:
  - {username: alice@example.com, full_name: Alice}
  - {username: bob@example.com, full_name: Bob}
teams:
  - {name: sre, members: [alice@example.com, {username: bob@example.com, role: admin}]}
schedules:
  - name: sre-primary
    time_zone: UTC
    team: sre
    rotations:
      - {name: days, type: daily, start: 2026-01-05 09:00, participants: [alice@example.com, bob@example.com]}
escalations:
  - name: sre-p1
    team: sre
    rules:
      - {delay: 0m, recipient: {type: schedule, name: sre-primary}}
      - {delay: 10m, notify_type: all, recipient: {type: team, name: sre}}
`,
    env: { KLAXON_ADMIN_PASSWORD: PASSWORD },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await klaxon?.stop();
  await new Promise((r) => receiver?.close(r));
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
  await page.setViewportSize(DESKTOP);
}

async function signIn(page) {
  await page.goto(`${klaxon.url}/ui/profile`);
  await page.fill("#username", "admin");
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(/\/ui\/profile$/), page.click("button[type=submit]")]);
}

test("add a webhook contact and send a test page to a real receiver", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  try {
    await signIn(page);
    assert.ok(await page.isVisible("text=No contact methods yet."));
    const hook = `http://127.0.0.1:${receiver.address().port}/pager/admin`;
    await page.click("summary:has-text('Add a contact method')");
    await page.selectOption("#ct-kind", "webhook");
    await page.fill("#ct-to", hook);
    await Promise.all([page.waitForURL(/done=/), page.click("button:has-text('Add contact method')")]);
    assert.ok(await page.isVisible(`text=Added Webhook ${hook}.`));
    const contact = page.locator("ul.contacts li", { hasText: hook });
    assert.equal(await contact.count(), 1);

    await Promise.all([page.waitForURL(/done=/), contact.locator("button:has-text('Send me a test page')").click()]);
    assert.ok(await page.isVisible("text=Test page queued for Webhook"));
    // The list refreshes itself (htmx) until the outbox reports the delivery sent.
    await page.waitForSelector("#test-pages li[data-state=sent]", { timeout: 15_000 });
    assert.equal(hits.length, 1, JSON.stringify(hits));
    const hit = hits[0];
    assert.equal(hit.method, "POST");
    assert.equal(hit.url, "/pager/admin");
    assert.equal(hit.headers["content-type"], "application/json");
    assert.match(hit.headers["idempotency-key"], /^test\//);
    assert.match(hit.headers["x-klaxon-signature"], /^sha256=[0-9a-f]{64}$/);
    const body = JSON.parse(hit.body);
    assert.equal(body.action, "test");
    assert.equal(body.user, "admin");
    assert.equal(body.idempotencyKey, hit.headers["idempotency-key"]);
    assert.equal(body.alert.message, "Test page from Klaxon");
    assert.match(body.alert.description, /^admin asked for this test page from the Klaxon web UI/);
    assert.equal(body.links.profile, `${klaxon.url}/ui/profile`);

    // A notification rule that uses it, from the rule form.
    await page.click("summary:has-text('Add a notification rule')");
    await page.fill("#new-name", "wake me");
    await page.check("input[name=priority][value=P1]");
    await page.selectOption("select[aria-label='Step 1 contact']", { label: `Webhook ${hook}` });
    await Promise.all([page.waitForURL(/done=/), page.click("button:has-text('Add rule')")]);
    assert.ok(await page.isVisible("text=Rule \"wake me\" added."));
    assert.match(await page.locator(".rule", { hasText: "wake me" }).innerText(), /P1/);
    await shot(page, "profile");
  } finally {
    await context.close();
  }
});

test("escalation policies and teams: view, managed in config, create", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  try {
    await signIn(page);
    await Promise.all([page.waitForURL(/\/ui\/escalations$/), page.click("nav >> text=Escalations")]);
    const managed = page.locator("ul.cards li", { hasText: "sre-p1" });
    assert.match(await managed.innerText(), /managed in config/);
    assert.match(await managed.innerText(), /After 10m, if-not-acked: notify all of team sre/);

    await page.click("summary:has-text('New escalation policy')");
    await page.fill("#new-name", "night-shift");
    await page.selectOption("#new-team", { label: "sre" });
    await page.fill("input[aria-label='Rule 1 delay']", "0s");
    await page.selectOption("select[aria-label='Rule 1 recipient']", { label: "sre-primary" });
    await page.fill("input[aria-label='Rule 2 delay']", "15m");
    await page.selectOption("select[aria-label='Rule 2 recipient']", { label: "bob@example.com" });
    await Promise.all([page.waitForURL(/\/ui\/escalations\/[^/?]+\?done=/), page.click("button:has-text('Create policy')")]);
    assert.ok(await page.isVisible("text=Escalation policy \"night-shift\" created."));
    assert.match(await page.locator("#rules").innerText(), /After 15m, if-not-acked: notify user bob@example\.com/);
    await shot(page, "escalation");

    await Promise.all([page.waitForURL(/\/ui\/teams$/), page.click("nav >> text=Teams")]);
    await Promise.all([page.waitForURL(/\/ui\/teams\/[^/]+$/), page.click("ul.cards >> text=sre")]);
    assert.match(await page.locator("#members").innerText(), /bob@example\.com\s+· admin/);
    assert.ok(await page.isVisible("text=managed in config"));
    assert.ok(await page.isVisible("a:has-text('night-shift')"));
    await shot(page, "team");
  } finally {
    await context.close();
  }
});
