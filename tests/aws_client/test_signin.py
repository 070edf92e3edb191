"""Sign-in against idc-scim with boto3, the whole way: register an SSO OIDC client, start a
device authorization, approve it through the admin API, poll CreateToken (authorization_pending
first), write the token to the SSO token cache as the AWS CLI does, then let botocore's own SSO
credential provider resolve a profile's credentials against idc-scim, list accounts and roles,
refresh the token and log out.

The profile is resolved in a child Python with a temporary HOME and AWS_CONFIG_FILE: botocore
reads where its caches live when it is imported.
"""

import datetime
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from test_identitystore import Server

ADMIN = "signin-admin-credential"
SESSION = "idc"
SEED = {
    "users": [
        {"userName": "ann@example.com", "name": {"givenName": "Ann", "familyName": "Lee"},
         "displayName": "Ann Lee", "emails": [{"value": "ann@example.com", "primary": True}]},
    ],
    "groups": [{"displayName": "Engineering", "members": ["ann@example.com"]}],
    "accounts": [
        {"accountId": "111111111111", "name": "dev", "email": "dev@example.com"},
        {"accountId": "222222222222", "name": "prod", "email": "prod@example.com"},
        {"accountId": "333333333333", "name": "other", "email": "other@example.com"},
    ],
    "permissionSets": [
        {"name": "ReadOnly", "sessionDuration": "PT2H"},
        {"name": "Admin", "sessionDuration": "PT1H"},
    ],
    "assignments": [
        {"accountId": "111111111111", "permissionSet": "ReadOnly", "user": "ann@example.com"},
        {"accountId": "222222222222", "permissionSet": "Admin", "group": "Engineering"},
        {"accountId": "222222222222", "permissionSet": "ReadOnly", "group": "Engineering"},
    ],
}

# The child that resolves credentials through botocore's SSO provider, and then reads the
# token cache the refresh may have rewritten.
RESOLVE = """
import json, sys
import boto3
session = boto3.Session(profile_name="idc")
credentials = session.get_credentials().get_frozen_credentials()
print(json.dumps({"access_key": credentials.access_key, "secret_key": credentials.secret_key,
                  "token": credentials.token}))
"""


@pytest.fixture(scope="module")
def server():
    seed = pathlib.Path(tempfile.mkdtemp(prefix="idc-scim-signin-")) / "seed.json"
    seed.write_text(json.dumps(SEED))
    s = Server("--admin-token", ADMIN, "--seed", str(seed))
    yield s
    s.stop()


def client(server, service):
    return boto3.client(
        service, endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def admin(server, method, path, body=None):
    return requests.request(method, f"{server.endpoint}/admin{path}", json=body, timeout=10,
                            headers={"Authorization": f"Bearer {ADMIN}"})


def default_tenant(server):
    tenants = admin(server, "GET", "/tenants").json()
    return next(t for t in tenants if t["isDefault"])


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_in(server, oidc, start_url, tenant_id):
    """The device flow of `aws sso login --use-device-code`, approved headlessly."""
    registration = oidc.register_client(clientName="botocore-client-idc", clientType="public",
                                        scopes=["sso:account:access"])
    started = oidc.start_device_authorization(
        clientId=registration["clientId"], clientSecret=registration["clientSecret"],
        startUrl=start_url)
    assert started["verificationUriComplete"].endswith(f"?user_code={started['userCode']}")
    poll = dict(clientId=registration["clientId"], clientSecret=registration["clientSecret"],
                grantType="urn:ietf:params:oauth:grant-type:device_code",
                deviceCode=started["deviceCode"])
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        oidc.create_token(**poll)
    approved = admin(server, "POST", f"/tenants/{tenant_id}/sign-ins",
                     {"userCode": started["userCode"], "userName": "ann@example.com"})
    assert approved.status_code == 200, approved.text
    deadline = time.time() + 30
    while True:
        time.sleep(started["interval"])
        try:
            return registration, oidc.create_token(**poll)
        except oidc.exceptions.SlowDownException:
            assert time.time() < deadline


def test_boto3_signs_in_and_resolves_sso_credentials(server):
    tenant = default_tenant(server)
    start_url = f"{server.endpoint}{tenant['startPath']}"
    oidc = client(server, "sso-oidc")
    registration, token = sign_in(server, oidc, start_url, tenant["tenantId"])
    assert token["tokenType"] == "Bearer" and token["refreshToken"]

    # The AWS CLI's token cache, in a HOME of our own.
    home = pathlib.Path(tempfile.mkdtemp(prefix="idc-scim-home-"))
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    cache_file = cache / (hashlib.sha1(SESSION.encode()).hexdigest() + ".json")
    now = datetime.datetime.now(datetime.timezone.utc)
    cached = {
        "startUrl": start_url, "region": "us-east-1", "accessToken": token["accessToken"],
        "expiresAt": iso(now + datetime.timedelta(seconds=token["expiresIn"])),
        "clientId": registration["clientId"], "clientSecret": registration["clientSecret"],
        "registrationExpiresAt": iso(datetime.datetime.fromtimestamp(
            registration["clientSecretExpiresAt"], datetime.timezone.utc)),
        "refreshToken": token["refreshToken"],
    }
    cache_file.write_text(json.dumps(cached))
    config = home / "config"
    config.write_text(f"""
[sso-session {SESSION}]
sso_start_url = {start_url}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile idc]
sso_session = {SESSION}
sso_account_id = 222222222222
sso_role_name = Admin
region = us-east-1
services = idc-scim

[services idc-scim]
sso_oidc =
  endpoint_url = {server.endpoint}
sso =
  endpoint_url = {server.endpoint}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(config),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"))

    def resolve():
        done = subprocess.run([sys.executable, "-c", RESOLVE], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    resolved = resolve()
    assert resolved["access_key"].startswith("ASIA") and len(resolved["access_key"]) == 20
    assert len(resolved["secret_key"]) == 40 and resolved["token"]

    # The portal, with the token.
    sso = client(server, "sso")
    accounts = sso.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert [(a["accountId"], a["accountName"], a["emailAddress"]) for a in accounts] == [
        ("111111111111", "dev", "dev@example.com"),
        ("222222222222", "prod", "prod@example.com"),
    ]
    roles = sso.list_account_roles(accessToken=token["accessToken"],
                                   accountId="222222222222")["roleList"]
    assert sorted(r["roleName"] for r in roles) == ["Admin", "ReadOnly"]
    paginated = sso.get_paginator("list_accounts").paginate(
        accessToken=token["accessToken"], PaginationConfig={"PageSize": 1})
    assert [a["accountId"] for page in paginated for a in page["accountList"]] == [
        "111111111111", "222222222222"]
    credentials = sso.get_role_credentials(accessToken=token["accessToken"],
                                           accountId="111111111111", roleName="ReadOnly")
    expiration = credentials["roleCredentials"]["expiration"] / 1000
    assert abs(expiration - (time.time() + 2 * 3600)) < 120
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.get_role_credentials(accessToken=token["accessToken"], accountId="111111111111",
                                 roleName="Admin")

    # A token about to expire is refreshed by botocore's token provider, through idc-scim.
    cached["expiresAt"] = iso(now + datetime.timedelta(minutes=5))
    cache_file.write_text(json.dumps(cached))
    resolve()
    refreshed = json.loads(cache_file.read_text())
    assert refreshed["accessToken"] != token["accessToken"]
    assert refreshed["refreshToken"] != token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(clientId=registration["clientId"],
                          clientSecret=registration["clientSecret"],
                          grantType="refresh_token", refreshToken=token["refreshToken"])
    assert sso.list_accounts(accessToken=refreshed["accessToken"])["accountList"]

    # Logout: the token stops working at once.
    sso.logout(accessToken=refreshed["accessToken"])
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=refreshed["accessToken"])


def test_oidc_errors_reach_boto3_by_name(server):
    tenant = default_tenant(server)
    oidc = client(server, "sso-oidc")
    registration = oidc.register_client(clientName="errors", clientType="public")
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.start_device_authorization(clientId=registration["clientId"], clientSecret="wrong",
                                        startUrl=f"{server.endpoint}{tenant['startPath']}")
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(clientId=registration["clientId"],
                          clientSecret=registration["clientSecret"],
                          grantType="urn:ietf:params:oauth:grant-type:device_code",
                          deviceCode="not-a-device-code")
    with pytest.raises(oidc.exceptions.UnsupportedGrantTypeException):
        oidc.register_client(clientName="x", clientType="public", grantTypes=["implicit"])
    sso = client(server, "sso")
    with pytest.raises(ClientError) as raised:
        sso.list_accounts(accessToken="not-a-token")
    assert raised.value.response["Error"]["Code"] == "UnauthorizedException"
