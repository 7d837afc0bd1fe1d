// Shared by every browser test: launches Debian's Chromium through playwright-core (which
// never downloads a browser here), and says where screenshots go.
import { chromium } from "playwright-core";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// Flags from shared/TESTING.md: headless, no sandbox (root in a container), nothing that
// reaches the network on its own. Playwright gives each launch a fresh temporary profile.
export const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: apt-get install -y chromium (scripts/test browser does it)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** The folder for screenshots (test-output/browser, or $KLAXON_TEST_OUTPUT/browser). */
export function outputDir() {
  const base = process.env.KLAXON_TEST_OUTPUT || path.join(ROOT, "test-output");
  const dir = path.join(base, "browser");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };
