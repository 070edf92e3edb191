"""The Identity Store API of idc-scim driven by real AWS clients (boto3 and the AWS CLI).

Starts the `idc-scim` binary (IDC_SCIM_BIN, default target/debug/idc-scim) on a fresh SQLite
file with signatures verified, provisions users, groups and memberships over SCIM as an identity
provider does, and reads and writes them through the Identity Store API as AWS SDK users do,
with the access key pair the server prints on its first start.
"""

import json

import pytest
from botocore.exceptions import ClientError

from harness import AKID, SECRET, Server, aws_cli, error_of, scim_group, scim_user


def test_users_groups_and_memberships_provisioned_over_scim_are_read_with_boto3(server):
    ids = [scim_user(server, f"reader{i}", external_id=f"ext-{i}") for i in range(5)]
    group = scim_group(server, "Readers", ids)
    lonely = scim_group(server, "Lonely", [])
    client = server.client()

    users = [u for page in client.get_paginator("list_users").paginate(
        IdentityStoreId=server.store_id, PaginationConfig={"PageSize": 2}) for u in page["Users"]]
    assert {u["UserId"] for u in users} >= set(ids)
    assert len(users) == len({u["UserId"] for u in users})

    user = client.describe_user(IdentityStoreId=server.store_id, UserId=ids[0])
    assert user["UserName"] == "reader0"
    assert user["Name"] == {"GivenName": "reader0", "FamilyName": "Doe"}
    assert user["Emails"] == [{"Value": "reader0@example.com", "Type": "work", "Primary": True}]
    assert user["ExternalIds"] == [{"Issuer": "scim", "Id": "ext-0"}]
    assert user["UserStatus"] == "ENABLED"
    assert user["CreatedAt"].year >= 2024

    by_name = client.get_user_id(
        IdentityStoreId=server.store_id,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName",
                                                 "AttributeValue": "reader1"}})
    assert by_name["UserId"] == ids[1]
    by_email = client.get_user_id(
        IdentityStoreId=server.store_id,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "emails.value",
                                                 "AttributeValue": "reader2@example.com"}})
    assert by_email["UserId"] == ids[2]
    by_external = client.get_user_id(
        IdentityStoreId=server.store_id,
        AlternateIdentifier={"ExternalId": {"Issuer": "scim", "Id": "ext-3"}})
    assert by_external["UserId"] == ids[3]

    groups = client.list_groups(IdentityStoreId=server.store_id)["Groups"]
    assert {"Readers", "Lonely"} <= {g["DisplayName"] for g in groups}
    got = client.get_group_id(
        IdentityStoreId=server.store_id,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName",
                                                 "AttributeValue": "Readers"}})
    assert got["GroupId"] == group

    pages = list(client.get_paginator("list_group_memberships").paginate(
        IdentityStoreId=server.store_id, GroupId=group, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    memberships = [m for p in pages for m in p["GroupMemberships"]]
    assert sorted(m["MemberId"]["UserId"] for m in memberships) == sorted(ids)

    mine = client.list_group_memberships_for_member(
        IdentityStoreId=server.store_id, MemberId={"UserId": ids[0]})["GroupMemberships"]
    assert [m["GroupId"] for m in mine] == [group]

    results = client.is_member_in_groups(
        IdentityStoreId=server.store_id, MemberId={"UserId": ids[0]},
        GroupIds=[group, lonely])["Results"]
    assert [(r["GroupId"], r["MembershipExists"]) for r in results] == [(group, True), (lonely, False)]

    membership = client.get_group_membership_id(
        IdentityStoreId=server.store_id, GroupId=group, MemberId={"UserId": ids[4]})
    described = client.describe_group_membership(
        IdentityStoreId=server.store_id, MembershipId=membership["MembershipId"])
    assert described["GroupId"] == group
    assert described["MemberId"] == {"UserId": ids[4]}


def test_what_boto3_creates_is_read_over_scim(server):
    client = server.client()
    created = client.create_user(
        IdentityStoreId=server.store_id, UserName="boto-made", DisplayName="Boto Made",
        Name={"GivenName": "Boto", "FamilyName": "Made"},
        Emails=[{"Value": "boto@example.com", "Type": "work", "Primary": True}])
    user_id = created["UserId"]
    r = server.scim_call("GET", f"/Users/{user_id}")
    assert r.status_code == 200
    assert r.json()["userName"] == "boto-made"
    assert r.json()["emails"][0]["value"] == "boto@example.com"

    client.update_user(
        IdentityStoreId=server.store_id, UserId=user_id,
        Operations=[{"AttributePath": "displayName", "AttributeValue": "Boto Renamed"},
                    {"AttributePath": "name.givenName", "AttributeValue": "Bo"}])
    scim = server.scim_call("GET", f"/Users/{user_id}").json()
    assert scim["displayName"] == "Boto Renamed"
    assert scim["name"]["givenName"] == "Bo"

    group_id = client.create_group(IdentityStoreId=server.store_id, DisplayName="Boto Group")["GroupId"]
    assert server.scim_call("GET", f"/Groups/{group_id}").json()["displayName"] == "Boto Group"
    membership = client.create_group_membership(
        IdentityStoreId=server.store_id, GroupId=group_id, MemberId={"UserId": user_id})
    check = server.scim_call(
        "GET", f'/Groups?filter=id eq "{group_id}" and members eq "{user_id}"').json()
    assert check["totalResults"] == 1

    client.delete_group_membership(
        IdentityStoreId=server.store_id, MembershipId=membership["MembershipId"])
    check = server.scim_call(
        "GET", f'/Groups?filter=id eq "{group_id}" and members eq "{user_id}"').json()
    assert check["totalResults"] == 0
    client.delete_group(IdentityStoreId=server.store_id, GroupId=group_id)
    client.delete_user(IdentityStoreId=server.store_id, UserId=user_id)
    assert server.scim_call("GET", f"/Users/{user_id}").status_code == 404


def test_errors_reach_boto3_as_modelled_exceptions(server):
    client = server.client()
    ghost = "1234567890-a1b2c3d4-5678-90ab-cdef-000000000001"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as e:
        client.describe_user(IdentityStoreId=server.store_id, UserId=ghost)
    code, response = error_of(e)
    assert code == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResourceType"] == "USER"
    assert response["ResourceId"] == ghost

    with pytest.raises(ClientError) as e:
        client.list_users(IdentityStoreId="d-0000000000")
    assert error_of(e)[0] == "ResourceNotFoundException"
    assert e.value.response["ResourceType"] == "IDENTITY_STORE"

    scim_user(server, "dupe")
    with pytest.raises(client.exceptions.ConflictException) as e:
        client.create_user(IdentityStoreId=server.store_id, UserName="DUPE", DisplayName="D",
                           Name={"GivenName": "D", "FamilyName": "U"})
    assert e.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"

    with pytest.raises(client.exceptions.ValidationException) as e:
        client.list_users(IdentityStoreId=server.store_id,
                          Filters=[{"AttributePath": "Title", "AttributeValue": "x"}])
    assert "Title" in e.value.response["Error"]["Message"]

    with pytest.raises(client.exceptions.ValidationException):
        client.create_user(IdentityStoreId=server.store_id, UserName="no-name")


def test_the_aws_cli_reads_the_provisioned_users(server):
    user_id = scim_user(server, "cli-user", external_id="cli-ext")
    out = aws_cli(server, "identitystore", "list-users", "--identity-store-id", server.store_id)
    assert out.returncode == 0, out.stderr
    users = json.loads(out.stdout)["Users"]
    assert user_id in {u["UserId"] for u in users}

    out = aws_cli(server, "identitystore", "get-user-id", "--identity-store-id", server.store_id,
                  "--alternate-identifier",
                  json.dumps({"UniqueAttribute": {"AttributePath": "userName",
                                                  "AttributeValue": "cli-user"}}))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["UserId"] == user_id

    out = aws_cli(server, "identitystore", "describe-user", "--identity-store-id", server.store_id,
                  "--user-id", user_id)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["UserName"] == "cli-user"

    out = aws_cli(server, "identitystore", "describe-user", "--identity-store-id", server.store_id,
                  "--user-id", "1234567890-a1b2c3d4-5678-90ab-cdef-000000000001")
    assert out.returncode != 0
    assert "ResourceNotFoundException" in out.stderr


def test_signatures_are_verified_with_configured_credentials():
    s = Server("--aws-credentials", f"{AKID}:{SECRET}")
    try:
        assert s.client().list_users(IdentityStoreId=s.store_id)["Users"] == []
        with pytest.raises(ClientError) as e:
            s.client(secret="not-the-secret").list_users(IdentityStoreId=s.store_id)
        code, response = error_of(e)
        assert code == "InvalidSignatureException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        with pytest.raises(ClientError) as e:
            s.client(key="AKIDUNKNOWN").list_users(IdentityStoreId=s.store_id)
        assert error_of(e)[0] == "UnrecognizedClientException"
        out = aws_cli(s, "identitystore", "list-users", "--identity-store-id", s.store_id, secret="wrong")
        assert out.returncode != 0
        assert "InvalidSignatureException" in out.stderr
        out = aws_cli(s, "identitystore", "list-users", "--identity-store-id", s.store_id)
        assert out.returncode == 0, out.stderr
    finally:
        s.stop()


def test_the_printed_key_pair_is_verified_and_confined_to_its_tenant(server):
    assert server.key[0].startswith("AKIA"), "the banner printed a key pair"
    with pytest.raises(ClientError) as e:
        server.client(secret="x" * 40).list_users(IdentityStoreId=server.store_id)
    assert error_of(e)[0] == "InvalidSignatureException"
    out = aws_cli(server, "identitystore", "list-users", "--identity-store-id", server.store_id,
                  secret="x" * 40)
    assert out.returncode != 0
    assert "InvalidSignatureException" in out.stderr

    # A key of another tenant, made through the admin API, reaches that tenant only.
    other = server.admin("POST", "/tenants")
    key = server.admin("POST", f"/tenants/{other['tenantId']}/access-keys")
    theirs = server.client(key=key["accessKeyId"], secret=key["secretAccessKey"])
    assert theirs.list_users(IdentityStoreId=other["identityStoreId"])["Users"] == []
    with pytest.raises(theirs.exceptions.AccessDeniedException) as e:
        theirs.list_users(IdentityStoreId=server.store_id)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(theirs.exceptions.AccessDeniedException):
        theirs.create_user(IdentityStoreId=server.store_id, UserName="intruder",
                           DisplayName="I", Name={"GivenName": "I", "FamilyName": "N"})
    sso = server.client("sso-admin", key=key["accessKeyId"], secret=key["secretAccessKey"])
    instances = sso.list_instances()["Instances"]
    assert [i["IdentityStoreId"] for i in instances] == [other["identityStoreId"]]
    server.admin("DELETE", f"/tenants/{other['tenantId']}/access-keys/{key['accessKeyId']}")
    with pytest.raises(ClientError) as e:
        theirs.list_users(IdentityStoreId=other["identityStoreId"])
    assert error_of(e)[0] == "UnrecognizedClientException"
