"""The harness of the AWS client tests: the `idc-scim` binary (IDC_SCIM_BIN, default
target/debug/idc-scim) on port 0 and a fresh SQLite file, with AWS signatures verified; boto3
clients and the AWS CLI pointed at it with the access key pair it prints on its first start,
and SCIM calls as an identity provider makes them.
"""

import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import uuid

import boto3
import requests
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("IDC_SCIM_BIN", str(ROOT / "target" / "debug" / "idc-scim"))
AKID = "AKIDEXAMPLE"
SECRET = "secret"
ADMIN = "aws-client-admin"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Server:
    """The binary on port 0, with its printed endpoint, tenant and identity store id."""

    def __init__(self, *extra_args):
        self.dir = tempfile.mkdtemp(prefix="idc-scim-aws-")
        self.token = f"aws-client-token-{uuid.uuid4()}"
        self.database_url = f"sqlite://{self.dir}/t.db"
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--token", self.token,
             "--aws-auth", "verify", "--database-url", self.database_url, *extra_args],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "stderr"), "w"),
            text=True,
        )
        banner = ""
        for line in self.proc.stdout:
            banner += line
            if "Access token" in line:
                break
        # Keep draining stdout so that the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        endpoint = re.search(r"SCIM endpoint:\s+\S+/([^/\s]+)/scim/v2/", banner)
        alias = re.search(r"\(short alias\):\s+(\S+)", banner)
        store = re.search(r"Identity store id:\s+(d-[0-9a-f]{10})", banner)
        assert endpoint and alias and store, f"unexpected banner:\n{banner}"
        self.tenant_id = endpoint.group(1)
        self.scim = alias.group(1).rstrip("/")
        self.endpoint = self.scim.removesuffix("/scim/v2")
        self.store_id = store.group(1)
        # The key pair of the first start, unless keys were given with --aws-credentials.
        key = re.search(r"AWS access key id:\s+(AKIA[A-Z2-7]{16})", banner)
        secret = re.search(r"AWS secret key:\s+(\S{40})", banner)
        self.key = (key.group(1), secret.group(1)) if key and secret else (AKID, SECRET)

    def client(self, service="identitystore", secret=None, key=None):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key or self.key[0],
            aws_secret_access_key=secret or self.key[1],
            config=Config(retries={"max_attempts": 1}),
        )

    def admin(self, method, path):
        """Calls the admin API (the server runs with --admin-token ADMIN)."""
        r = requests.request(method, f"{self.endpoint}/admin{path}", timeout=10,
                             headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.ok, r.text
        return r.json() if r.content else None

    def scim_call(self, method, path, body=None):
        r = requests.request(
            method, f"{self.scim}{path}", json=body, timeout=10,
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/scim+json"},
        )
        return r

    def command(self, command, *args):
        """Runs `idc-scim <command> --database-url <this server's database> <args>`."""
        return subprocess.run(
            [BINARY, command, "--database-url", self.database_url, *args],
            capture_output=True, text=True, timeout=60)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def scim_user(server, user_name, external_id=None):
    body = {
        "schemas": [SCIM_USER], "userName": user_name, "displayName": f"{user_name} Doe",
        "name": {"givenName": user_name, "familyName": "Doe"},
        "emails": [{"value": f"{user_name}@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    if external_id:
        body["externalId"] = external_id
    r = server.scim_call("POST", "/Users", body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def scim_group(server, name, members):
    r = server.scim_call("POST", "/Groups", {
        "schemas": [SCIM_GROUP], "displayName": name,
        "members": [{"value": m} for m in members]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response


def aws_cli(server, service, *args, secret=None):
    """Runs `aws <service> <args>` against the server, with JSON output, with the server's key
    pair (or another secret)."""
    bin_dir = os.path.dirname(sys.executable)
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": server.key[0], "AWS_SECRET_ACCESS_KEY": secret or server.key[1],
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "HOME": server.dir,
    }
    return subprocess.run(
        [os.path.join(bin_dir, "aws"), service, *args, "--endpoint-url", server.endpoint,
         "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60)
