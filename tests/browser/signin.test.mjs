// The sign-in pages in headless Chromium: the authorization code flow with PKCE of
// `aws sso login`, from the authorize URL to the redirect with the code, a wrong password
// refused on the way, and the code then redeemed for a token.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { admin, createUser, launchBrowser, request, startServer } from "./harness.mjs";

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

/// A loopback listener like the AWS CLI's: resolves with the query of the first request to
/// /oauth/callback.
async function callbackReceiver() {
  let received;
  const query = new Promise((resolve) => { received = resolve; });
  const listener = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    res.writeHead(200, { "content-type": "text/plain" }).end("Signed in: you may close this window.");
    if (url.pathname === "/oauth/callback") received(url.searchParams);
  });
  await new Promise((ready) => listener.listen(0, "127.0.0.1", ready));
  return { port: listener.address().port, query, close: () => listener.close() };
}

test("the authorization code flow with PKCE signs in through the pages", async () => {
  await createUser(server, "ann@example.com");
  const password = await admin(server, "PUT", `/tenants/${server.tenantId}/users/ann@example.com/password`,
    { password: "correct horse battery" });
  assert.equal(password.status, 204);

  const registered = await request(server, "POST", "/client/register", {
    clientName: "botocore-client-browser", clientType: "public",
    grantTypes: ["authorization_code", "refresh_token"], scopes: ["sso:account:access"],
    redirectUris: ["http://127.0.0.1/oauth/callback"], issuerUrl: server.startUrl,
  });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  const { clientId, clientSecret, authorizationEndpoint } = registered.body;
  assert.equal(authorizationEndpoint, `${server.base}/authorize`);

  const receiver = await callbackReceiver();
  const verifier = randomBytes(48).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const redirectUri = `http://127.0.0.1:${receiver.port}/oauth/callback`;
  const state = `state-${randomBytes(8).toString("hex")}`;
  const authorize = new URL(authorizationEndpoint);
  for (const [name, value] of Object.entries({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri, state,
    code_challenge_method: "S256", scopes: "sso:account:access", code_challenge: challenge,
  })) authorize.searchParams.set(name, value);

  const { page } = browser;
  await page.goto(authorize.toString());
  await page.getByRole("heading", { name: "Sign in" }).waitFor();

  // A wrong password is refused, and the form is kept for another try.
  await page.getByLabel("Username").fill("ann@example.com");
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "Incorrect username or password." }).waitFor();
  assert.equal(await page.getByLabel("Username").inputValue(), "ann@example.com");

  await page.getByLabel("Password").fill("correct horse battery");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Allow botocore-client-browser to access your data?" }).waitFor();
  await page.getByRole("button", { name: "Allow access" }).click();

  const query = await receiver.query;
  receiver.close();
  assert.equal(query.get("state"), state);
  const code = query.get("code");
  assert.ok(code, "the redirect carries a code");
  await page.getByText("Signed in: you may close this window.").waitFor();

  const token = await request(server, "POST", "/token", {
    clientId, clientSecret, grantType: "authorization_code", code, redirectUri,
    codeVerifier: verifier,
  });
  assert.equal(token.status, 200, JSON.stringify(token.body));
  assert.equal(token.body.tokenType, "Bearer");
  assert.ok(token.body.accessToken && token.body.refreshToken);

  // The code is single-use.
  const again = await request(server, "POST", "/token", {
    clientId, clientSecret, grantType: "authorization_code", code, redirectUri,
    codeVerifier: verifier,
  });
  assert.equal(again.status, 400);
  assert.equal(again.body.error, "invalid_grant");
});

test("the device code page takes the code and a signed-in user approves it", async () => {
  await createUser(server, "bob@example.com");
  const registered = await request(server, "POST", "/client/register",
    { clientName: "device-client", clientType: "public" });
  const { clientId, clientSecret } = registered.body;
  const started = await request(server, "POST", "/device_authorization",
    { clientId, clientSecret, startUrl: server.startUrl });
  assert.equal(started.status, 200, JSON.stringify(started.body));

  const { page } = browser;
  await page.goto(started.body.verificationUri);
  await page.getByLabel("Code").fill(started.body.userCode.toLowerCase());
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  // Signed in as ann by the first test: sign out, then in as bob (no password).
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Username").fill("bob@example.com");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.goto(started.body.verificationUriComplete);
  assert.equal(await page.getByLabel("Code").inputValue(), started.body.userCode);
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  await page.getByRole("button", { name: "Allow access" }).click();
  await page.getByRole("heading", { name: "Request approved" }).waitFor();

  const token = await request(server, "POST", "/token", {
    clientId, clientSecret, grantType: "urn:ietf:params:oauth:grant-type:device_code",
    deviceCode: started.body.deviceCode,
  });
  assert.equal(token.status, 200, JSON.stringify(token.body));
});
