// The public status page in headless Chromium: an incident opened and updated through the
// Statuspage API shows in the banner, in the affected component's uptime bar (its title is
// the hover text) and in the incident timeline; the incident page, the Atom feed and an SVG
// badge render. Screenshots at phone and desktop widths; no horizontal overflow; the page
// works with JavaScript disabled.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { launchChromium, outputDir, PHONE, DESKTOP } from "./lib/chromium.mjs";
import { startKlaxon } from "./lib/klaxon.mjs";

const KEY = "status-global-key";
let klaxon, browser, incidentId, apiId, logoServer;

// The logo lives elsewhere, as a real page's would: a local HTTP server serves it.
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="18" fill="#123456"/></svg>';


async function sp(method, pathname, body) {
  const r = await fetch(`${klaxon.url}/v1/pages/acme${pathname}`, {
    method,
    headers: { Authorization: `OAuth ${KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${pathname}: ${r.status} ${text}`);
  return JSON.parse(text);
}

before(async () => {
  logoServer = http.createServer((req, res) => {
    res.writeHead(req.url === "/logo.svg" ? 200 : 404, { "Content-Type": "image/svg+xml" });
    res.end(req.url === "/logo.svg" ? LOGO : "");
  });
  await new Promise((r) => logoServer.listen(0, "127.0.0.1", r));
  const logoUrl = `http://127.0.0.1:${logoServer.address().port}/logo.svg`;
  klaxon = await startKlaxon({
    config: `
integrations:
  - {name: statuspage, type: api, api_key: ${KEY}}
status_pages:
  - id: acme
    name: Acme
    branding:
      title: Acme Cloud status
      logo_url: ${logoUrl}
      colors: {accent: "#123456"}
    groups: [{name: Platform, description: Core services}]
    components:
      - {name: API, group: Platform, description: Public REST API}
      - {name: Database, group: Platform}
      - {name: Website}
`,
  });
  browser = await launchChromium();
  const comps = await sp("GET", "/components");
  apiId = comps.find((c) => c.name === "API").id;
  const inc = await sp("POST", "/incidents", {
    incident: {
      name: "Elevated API error rates",
      status: "investigating",
      body: "We are seeing 5xx responses from the API.",
      components: { [apiId]: "partial_outage" },
      component_ids: [apiId],
    },
  });
  incidentId = inc.id;
  await sp("PATCH", `/incidents/${incidentId}`, {
    incident: { status: "identified", body: "A bad deploy; rolling back." },
  });
});

after(async () => {
  await browser?.close();
  await klaxon?.stop();
  logoServer?.close();
});

async function shots(page, name) {
  for (const [label, size] of [["phone", PHONE], ["desktop", DESKTOP]]) {
    await page.setViewportSize(size);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, `${name} overflows horizontally at ${label} width by ${overflow}px`);
    await page.screenshot({ path: path.join(outputDir(), `status-${name}-${label}.png`), fullPage: true });
  }
}

test("the public page shows the banner, the uptime bars and the incident timeline", async () => {
  // No JavaScript: the page is server-rendered and must not need it.
  const context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    const resp = await page.goto(`${klaxon.url}/status/acme`);
    assert.equal(resp.status(), 200);
    assert.equal(await page.title(), "Acme Cloud status");
    assert.equal((await page.locator("header h1").innerText()).trim(), "Acme Cloud status");
    const logo = page.locator("header img");
    assert.ok(await logo.isVisible(), "the logo from the config shows");
    assert.equal(await logo.evaluate((i) => i.naturalWidth), 40, "the logo loaded");

    // Banner: a partial outage is a major indicator.
    const banner = page.locator("#status-banner");
    assert.equal(await banner.getAttribute("data-indicator"), "major");
    assert.equal((await banner.innerText()).trim(), "Partial System Outage");
    const bg = await banner.evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(bg, "rgb(230, 126, 34)", "the banner is orange for a partial outage");

    // The API component: its status, 90 bars, and today's bar names the incident on hover.
    const api = page.locator(`.component[data-component="${apiId}"]`);
    assert.equal(await api.getAttribute("data-status"), "partial_outage");
    assert.match(await api.locator(".crow").innerText(), /API\s+Partial Outage/);
    const bars = api.locator(".bar");
    assert.equal(await bars.count(), 90);
    const today = bars.last();
    const day = new Date().toISOString().slice(0, 10);
    assert.equal(await today.getAttribute("data-day"), day);
    await today.hover();
    const title = await today.getAttribute("title");
    assert.match(title, /^[A-Z][a-z]{2} \d{1,2}, \d{4}: \d{1,3}\.\d\d% uptime/, title);
    assert.match(title, /partial outage \d+ min/, title);
    assert.match(title, /incidents: Elevated API error rates$/, title);
    const todayColour = await today.evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(todayColour, "rgb(230, 126, 34)");
    // Days before the component existed have no data, and say so.
    assert.match(await bars.first().getAttribute("title"), /: no data$/);
    assert.match(await api.locator(".legend .uptime").innerText(), /^\d{1,3}\.\d\d % uptime$/);
    // A component without incidents has a clean day.
    const website = page.locator(".component[data-status]", { hasText: "Website" });
    assert.match(await website.locator(".bar").last().getAttribute("title"), /100\.00% uptime — no incidents$/);

    // The incident timeline: newest update first.
    const card = page.locator(`#active-incidents article[data-incident="${incidentId}"]`);
    assert.equal(await card.locator("h3").innerText(), "Elevated API error rates");
    assert.match(await card.innerText(), /Affects: API/);
    const updates = card.locator(".update");
    assert.equal(await updates.count(), 2);
    assert.equal(await updates.nth(0).locator("strong").innerText(), "Identified");
    assert.match(await updates.nth(0).innerText(), /A bad deploy; rolling back\./);
    assert.equal(await updates.nth(1).locator("strong").innerText(), "Investigating");
    assert.match(await updates.nth(1).locator("time").getAttribute("datetime"), /^\d{4}-\d\d-\d\dT.*Z$/);
    await shots(page, "page-incident");

    // The incident's own page.
    await page.click(`#active-incidents h3 a`);
    await page.waitForURL(new RegExp(`/status/acme/incidents/${incidentId}$`));
    assert.equal(await page.locator(".update").count(), 2);
    await shots(page, "incident");
  } finally {
    await context.close();
  }
});

test("after resolution the page is green and the incident moves to the history", async () => {
  await sp("PATCH", `/incidents/${incidentId}`, {
    incident: { status: "resolved", body: "Error rates are back to normal.", components: { [apiId]: "operational" } },
  });
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  try {
    await page.goto(`${klaxon.url}/status/acme`);
    const banner = page.locator("#status-banner");
    assert.equal(await banner.getAttribute("data-indicator"), "none");
    assert.equal((await banner.innerText()).trim(), "All Systems Operational");
    assert.equal(await page.locator("#active-incidents").count(), 0);
    assert.match(await page.locator("#history").innerText(), /Elevated API error rates\s+Resolved/);
    // Today's bar still remembers the incident.
    const title = await page.locator(`.component[data-component="${apiId}"] .bar`).last().getAttribute("title");
    assert.match(title, /incidents: Elevated API error rates$/, title);
    await shots(page, "page-resolved");
  } finally {
    await context.close();
  }
});

test("the Atom feed and the SVG badge render", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  try {
    // The feed: well-formed Atom with the incident and its updates.
    const feed = await fetch(`${klaxon.url}/status/acme/feed.atom`);
    assert.equal(feed.status, 200);
    assert.match(feed.headers.get("content-type"), /application\/atom\+xml/);
    const xml = await feed.text();
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, "application/xml");
      if (doc.querySelector("parsererror")) return { error: doc.querySelector("parsererror").textContent };
      const ns = "http://www.w3.org/2005/Atom";
      return {
        root: doc.documentElement.namespaceURI + " " + doc.documentElement.localName,
        title: doc.getElementsByTagNameNS(ns, "title")[0]?.textContent,
        entries: [...doc.getElementsByTagNameNS(ns, "entry")].map((e) => ({
          title: e.getElementsByTagNameNS(ns, "title")[0]?.textContent,
          link: e.getElementsByTagNameNS(ns, "link")[0]?.getAttribute("href"),
          content: e.getElementsByTagNameNS(ns, "content")[0]?.textContent ?? "",
        })),
      };
    }, xml);
    assert.equal(parsed.error, undefined, parsed.error);
    assert.equal(parsed.root, "http://www.w3.org/2005/Atom feed");
    const entry = parsed.entries.find((e) => e.title.includes("Elevated API error rates"));
    assert.ok(entry, JSON.stringify(parsed.entries));
    assert.match(entry.link, new RegExp(`/status/acme/incidents/${incidentId}$`));
    assert.match(entry.content, /Error rates are back to normal\./);
    // The browser renders the feed document itself (as XML) without error.
    const r = await page.goto(`${klaxon.url}/status/acme/feed.atom`);
    assert.equal(r.status(), 200);
    await page.screenshot({ path: path.join(outputDir(), "status-feed-desktop.png") });

    // The badge: an SVG image with the component's name and status, in a real <img>.
    const badge = await fetch(`${klaxon.url}/status/acme/badge/${apiId}`);
    assert.equal(badge.status, 200);
    assert.match(badge.headers.get("content-type"), /image\/svg\+xml/);
    const svg = await badge.text();
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /operational/i);
    await page.setContent(
      `<html><body style="margin:20px"><img id="b" src="${klaxon.url}/status/acme/badge/${apiId}"></body></html>`,
    );
    await page.waitForFunction(() => document.getElementById("b").complete);
    const size = await page.evaluate(() => {
      const i = document.getElementById("b");
      return { w: i.naturalWidth, h: i.naturalHeight };
    });
    assert.ok(size.w > 40 && size.h >= 14, `the badge decodes as an image: ${JSON.stringify(size)}`);
    await page.locator("#b").screenshot({ path: path.join(outputDir(), "status-badge.png") });
  } finally {
    await context.close();
  }
});
