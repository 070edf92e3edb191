// The screenshots of the console in the README (docs/screenshots/*.png), taken with the harness
// of the browser tests: a server seeded with a small directory and account access, a few SCIM
// requests of a connector (one of them refused), then one picture per main page. Run it after
// `bash tests/browser/run.sh` (which installs playwright-core and builds the binary):
//
//     node tests/browser/screenshots.mjs
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

import { ADMIN_TOKEN, SCIM_TOKEN, admin, launchBrowser, startServer } from "./harness.mjs";

const out = resolve(import.meta.dirname, "../../docs/screenshots");
mkdirSync(out, { recursive: true });

const person = (userName, givenName, familyName, title) => ({
  userName, displayName: `${givenName} ${familyName}`, name: { givenName, familyName }, title,
  emails: [{ value: userName, type: "work", primary: true }],
});
const fixture = {
  users: [
    person("ann.lee@example.com", "Ann", "Lee", "Platform engineer"),
    person("bob.stone@example.com", "Bob", "Stone", "Site reliability engineer"),
    person("carla.diaz@example.com", "Carla", "Diaz", "Security analyst"),
    person("dev.patel@example.com", "Dev", "Patel", "Developer"),
    person("emma.berg@example.com", "Emma", "Berg", "Engineering manager"),
  ],
  groups: [
    { displayName: "Platform", members: ["ann.lee@example.com", "bob.stone@example.com", "emma.berg@example.com"] },
    { displayName: "Security", members: ["carla.diaz@example.com"] },
    { displayName: "Developers", members: ["dev.patel@example.com", "ann.lee@example.com"] },
  ],
  accounts: [
    { accountId: "111122223333", name: "Development", email: "aws-dev@example.com" },
    { accountId: "444455556666", name: "Production", email: "aws-prod@example.com" },
  ],
  permissionSets: [
    { name: "AdministratorAccess", description: "Full access", sessionDuration: "PT4H" },
    { name: "ReadOnlyAccess", description: "Look, do not touch", sessionDuration: "PT8H" },
  ],
  assignments: [
    { accountId: "111122223333", permissionSet: "AdministratorAccess", group: "Platform" },
    { accountId: "111122223333", permissionSet: "ReadOnlyAccess", group: "Developers" },
    { accountId: "444455556666", permissionSet: "ReadOnlyAccess", group: "Security" },
    { accountId: "444455556666", permissionSet: "AdministratorAccess", user: "ann.lee@example.com" },
  ],
};

const server = await startServer();
const browser = await launchBrowser();
try {
  const seeded = await admin(server, "POST", `/tenants/${server.tenantId}/seed`, fixture);
  if (seeded.status !== 200) throw new Error(`seed: ${seeded.status} ${JSON.stringify(seeded.body)}`);
  await admin(server, "POST", "/tenants", { tenantId: "staging" });

  // What a connector's sync sends: a look-up, a create, a PATCH, and one refused.
  const send = (method, path, body) => fetch(`${server.scim}${path}`, {
    method,
    headers: { authorization: `Bearer ${SCIM_TOKEN}`, "content-type": "application/scim+json" },
    body: body && JSON.stringify(body),
  }).then((r) => r.json().catch(() => null));
  await send("GET", `/Users?filter=${encodeURIComponent('userName eq "fay.wong@example.com"')}`);
  const fay = await send("POST", "/Users", person("fay.wong@example.com", "Fay", "Wong", "Designer"));
  await send("PATCH", `/Users/${fay.id}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "Replace", path: "title", value: "Product designer" }],
  });
  await send("POST", "/Users", person("ann.lee@example.com", "Ann", "Lee", "Duplicate"));

  const { page } = browser;
  await page.setViewportSize({ width: 1280, height: 800 });
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  const at = (rest) => page.goto(`${server.base}/console/instances/${server.tenantId}${rest}`);

  await page.goto(`${server.base}/console`);
  await shot("sign-in");
  await page.getByLabel("Admin credential").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Instances", exact: true }).waitFor();
  await shot("instances");

  await at("");
  await page.getByRole("button", { name: "Generate token" }).click();
  await page.locator("#new-token").waitFor();
  await shot("settings");

  await at("/users");
  await shot("users");
  await page.getByRole("link", { name: "ann.lee@example.com" }).click();
  await page.getByRole("heading", { name: "ann.lee@example.com" }).waitFor();
  await shot("user");

  await at("/groups");
  await page.getByRole("link", { name: "Platform" }).click();
  await page.getByRole("heading", { name: "Members (3)" }).waitFor();
  await shot("group");

  await at("/accounts/111122223333");
  await shot("account");

  await at("/journal");
  await page.locator("details.entry").filter({ hasText: "409" }).locator("summary").click();
  await shot("journal");
} finally {
  await browser.close();
  await server.stop();
}
