// The console in headless Chromium, as a person sets up automatic provisioning: sign in with
// the admin credential, create an instance, turn automatic provisioning off and on, generate an
// access token and copy it from the page, watch a SCIM request of a connector arrive in the
// live journal and its user in Users, then delete the token and see SCIM refuse it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { ADMIN_TOKEN, launchBrowser, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/// A SCIM request to an instance's endpoint with a token: `{ status, body }`.
async function scim(endpoint, token, method, path, body) {
  const response = await fetch(`${endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

test("a person sets up automatic provisioning and watches a connector's requests", async () => {
  const { page, context } = browser;
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.base });

  // Signing in: the console sends a browser without a session to its sign-in page.
  await page.goto(`${server.base}/console`);
  await page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
  await page.getByLabel("Admin credential").fill("not the credential");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: "That is not the admin credential." }).waitFor();
  await page.getByLabel("Admin credential").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Instances", exact: true }).waitFor();

  // A new instance, with the keyboard alone.
  await page.getByLabel("Instance id (optional)").fill("browser-test");
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "The instance was created." }).waitFor();
  const endpoint = (await page.locator("#scim-endpoint").textContent()).trim();
  assert.equal(endpoint, `${server.base}/browser-test/scim/v2/`);
  const scimBase = endpoint.replace(/\/$/, "");

  // Automatic provisioning off, then on again.
  await page.getByRole("button", { name: "Disable automatic provisioning" }).click();
  await page.getByRole("status").filter({ hasText: "Automatic provisioning is disabled" }).waitFor();
  await page.getByRole("button", { name: "Enable automatic provisioning" }).click();
  await page.getByRole("status").filter({ hasText: "Automatic provisioning is enabled." }).waitFor();

  // A token, shown once, copied with its button.
  await page.getByRole("button", { name: "Generate token" }).click();
  await page.getByText("this is the only time it is shown").waitFor();
  const token = (await page.locator("#new-token").textContent()).trim();
  assert.match(token, /^[A-Za-z0-9+/=]{64}$/);
  await page.locator('button[data-copy="new-token"]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
  await page.getByRole("heading", { name: "Access tokens (1 of 2)" }).waitFor();

  // The journal stays open while a connector creates a user: the request appears by itself.
  await page.getByRole("link", { name: "Journal and controls" }).click();
  await page.getByText("Live: new requests appear at the top.").waitFor();
  await page.evaluate(() => { window.notReloaded = true; });
  const created = await scim(scimBase, token, "POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: "jane@example.com", displayName: "Jane Doe",
    name: { givenName: "Jane", familyName: "Doe" },
    emails: [{ value: "jane@example.com", type: "work", primary: true }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const entry = page.locator("details.entry").filter({ hasText: "POST" }).filter({ hasText: "/Users" });
  await entry.waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true, "no reload");
  assert.match(await entry.locator(".http-status").textContent(), /201/);
  assert.match(await entry.locator(".seq").textContent(), /^#\d+$/);
  await entry.locator("summary").click();
  await entry.getByText('"userName": "jane@example.com"').first().waitFor();
  await entry.getByText("Bearer ****").waitFor();

  // The user the connector created, in Users.
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await page.getByLabel("Find users by username").fill("JANE");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("heading", { name: "Users (1)" }).waitFor();
  await page.getByRole("link", { name: "jane@example.com" }).click();
  await page.getByRole("heading", { name: "jane@example.com" }).waitFor();
  assert.equal((await page.locator("#user-id").textContent()).trim(), created.body.id);

  // Deleting the token, after a confirmation: SCIM refuses it at once.
  assert.equal((await scim(scimBase, token, "GET", "/Users")).status, 200);
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("link", { name: /^Delete token/ }).click();
  await page.getByRole("heading", { name: "Delete access token?" }).waitFor();
  await page.getByRole("button", { name: "Delete token" }).click();
  await page.getByRole("status").filter({ hasText: "The access token was deleted" }).waitFor();
  await page.getByRole("heading", { name: "Access tokens (0 of 2)" }).waitFor();
  const refused = await scim(scimBase, token, "GET", "/Users");
  assert.equal(refused.status, 401, JSON.stringify(refused.body));

  // Signing out ends the session.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
  await page.goto(`${server.base}/console/instances`);
  await page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
});
