// Starts the real klaxon binary for a browser test: a fresh SQLite file (or a fresh
// PostgreSQL database when $KLAXON_TEST_POSTGRES is set and asked for), a free loopback port,
// the given config; waits for /readyz. stop() ends it with SIGTERM.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./chromium.mjs";

export const BIN = process.env.KLAXON_BIN || path.join(ROOT, "target/release/klaxon");

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startKlaxon({ config = "", env = {} } = {}) {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} does not exist: cargo build --release -p klaxon (or set KLAXON_BIN)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "klaxon-browser-"));
  const port = await freePort();
  const cfg = path.join(dir, "klaxon.yaml");
  writeFileSync(cfg, config);
  let output = "";
  const child = spawn(BIN, ["serve", "--config", cfg], {
    env: {
      ...process.env,
      KLAXON_LISTEN: `127.0.0.1:${port}`,
      KLAXON_DATABASE_URL: `sqlite://${path.join(dir, "klaxon.db")}`,
      KLAXON_LOG: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`klaxon exited early:\n${output}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`klaxon did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    dir,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A call to Klaxon's OpsGenie API with a GenieKey. */
export async function api(url, key, method, pathname, body) {
  const r = await fetch(`${url}${pathname}`, {
    method,
    headers: { Authorization: `GenieKey ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
