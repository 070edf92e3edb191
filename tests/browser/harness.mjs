// The harness of the browser tests: the idc-scim binary on port 0 (its banner read for its
// URLs), headless Chromium (Debian's, driven by playwright-core) with a fresh profile, and
// small HTTP helpers. Shared by every test of this folder.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
const binary = process.env.IDC_SCIM_BIN
  ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "idc-scim");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const ADMIN_TOKEN = "browser-test-admin";
export const SCIM_TOKEN = "browser-test-scim";

/// Starts idc-scim on a fresh SQLite file and resolves when its banner is printed, with
/// `base` (http://127.0.0.1:PORT), `tenantId`, `startUrl`, `scim` (the SCIM endpoint) and
/// `stop()`. `args` are more flags of `serve`.
export async function startServer(args = []) {
  const dir = mkdtempSync(join(tmpdir(), "idc-scim-browser-"));
  const child = spawn(binary, [
    "serve", "--listen", "127.0.0.1:0", "--database-url", `sqlite://${dir}/db.sqlite`,
    "--admin-token", ADMIN_TOKEN, "--token", SCIM_TOKEN, ...args,
  ], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  const banner = {};
  const lines = createInterface({ input: child.stdout });
  await new Promise((ready, fail) => {
    child.once("exit", (code) => fail(new Error(`idc-scim exited with ${code} before its banner`)));
    lines.on("line", (line) => {
      const [label, value] = line.split(/:\s+(.*)/s).map((s) => s && s.trim());
      if (value) banner[label] = value;
      if (label === "Access token") ready();
    });
  });
  const startUrl = banner["Start URL"];
  const { origin, pathname } = new URL(startUrl);
  return {
    base: origin,
    startUrl,
    tenantId: pathname.split("/")[1],
    scim: banner["SCIM endpoint"].replace(/\/$/, ""),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((done) => child.once("exit", done));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/// Headless Chromium with a fresh profile: `{ context, page, close() }`.
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "idc-scim-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/// A JSON request to the server: `{ status, body }`.
export async function request(server, method, path, body, headers = {}) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/// An admin API request.
export function admin(server, method, path, body) {
  return request(server, method, `/admin${path}`, body, { authorization: `Bearer ${ADMIN_TOKEN}` });
}

/// Creates a user of the default tenant over SCIM.
export async function createUser(server, userName) {
  const response = await fetch(`${server.scim}/Users`, {
    method: "POST",
    headers: { authorization: `Bearer ${SCIM_TOKEN}`, "content-type": "application/scim+json" },
    body: JSON.stringify({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName, displayName: userName, name: { givenName: "Test", familyName: "User" },
      emails: [{ value: userName, primary: true }],
    }),
  });
  if (response.status !== 201) throw new Error(`creating ${userName}: ${response.status}`);
  return response.json();
}
