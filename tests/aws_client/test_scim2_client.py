"""The `rfc` profile of idc-scim driven by a strict SCIM client (scim2-client).

scim2-client discovers the server (ServiceProviderConfig, ResourceTypes, Schemas), builds its
models from the server's own /Schemas and validates every response against them: an attribute a
response carries but its schema does not declare, a wrong status or content type, fails the
call. The binary is started with `--profile rfc` on a fresh SQLite file.
"""

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Error, ListResponse, PatchOp, PatchOperation, SearchRequest

from harness import Server

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(scope="module")
def scim():
    server = Server("--profile", "rfc")
    http = httpx2.Client(
        base_url=f"{server.scim}/", headers={"Authorization": f"Bearer {server.token}"}
    )
    client = SyncSCIMClient(http)
    client.discover()
    yield client
    http.close()
    server.stop()


def user(scim, user_name, **extra):
    model = scim.get_resource_model("User")
    given, family = user_name.split("@")[0].split(".")
    return model.model_validate({
        "userName": user_name,
        "name": {"givenName": given.title(), "familyName": family.title()},
        "displayName": f"{given.title()} {family.title()}",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **extra,
    })


def test_discovery_describes_users_groups_and_the_enterprise_extension(scim):
    names = sorted(t.name for t in scim.provider.resource_types)
    assert names == ["Group", "User"]
    assert scim.provider.config.patch.supported
    assert scim.provider.config.etag.supported
    assert ENTERPRISE in {s.id for s in scim.provider.schemas}
    users = next(t for t in scim.provider.resource_types if t.name == "User")
    assert [e.schema_ for e in users.schema_extensions] == [ENTERPRISE]


def test_users_are_created_queried_listed_replaced_patched_and_deleted(scim):
    User = scim.get_resource_model("User")
    ada = scim.create(user(scim, "ada.lovelace@example.com", **{
        ENTERPRISE: {"department": "Analytics", "manager": {"value": "boss"}},
    }))
    assert ada.id and ada.meta.version
    assert ada.active is True
    assert ada[ENTERPRISE].department == "Analytics"

    got = scim.query(User, ada.id)
    assert got.user_name == "ada.lovelace@example.com"
    found = scim.query(User, query_parameters=SearchRequest(
        filter='userName eq "ADA.LOVELACE@example.com"'))
    assert isinstance(found, ListResponse) and found.total_results == 1
    assert found.resources[0].id == ada.id

    got.display_name = "Countess of Lovelace"
    replaced = scim.replace(got)
    assert replaced.display_name == "Countess of Lovelace"

    patched = scim.modify(User, ada.id, PatchOp[User](operations=[
        PatchOperation[User](op="replace", path="title", value="Analyst"),
        PatchOperation[User](op="replace", path=ENTERPRISE, value={"costCenter": "42"}),
        PatchOperation[User](op="add", value={ENTERPRISE: {"division": "Engines"}}),
    ]))
    assert patched.title == "Analyst"
    assert patched[ENTERPRISE].cost_center == "42"
    assert patched[ENTERPRISE].division == "Engines"
    assert patched[ENTERPRISE].department == "Analytics"

    scim.delete(User, ada.id)
    gone = scim.query(User, ada.id, raise_scim_errors=False)
    assert isinstance(gone, Error) and gone.status == 404


def test_groups_with_members_are_created_queried_replaced_patched_and_deleted(scim):
    User = scim.get_resource_model("User")
    Group = scim.get_resource_model("Group")
    grace = scim.create(user(scim, "grace.hopper@example.com"))
    alan = scim.create(user(scim, "alan.turing@example.com"))

    team = scim.create(Group.model_validate({
        "displayName": "Compilers", "members": [{"value": grace.id}],
    }))
    assert [m.value for m in team.members] == [grace.id]
    assert team.members[0].type == "User"

    listed = scim.query(Group, query_parameters=SearchRequest(
        filter=f'members.value eq "{grace.id}"'))
    assert [g.id for g in listed.resources] == [team.id]
    with_groups = scim.query(User, grace.id)
    assert [g.value for g in with_groups.groups] == [team.id]

    patched = scim.modify(Group, team.id, PatchOp[Group](operations=[
        PatchOperation[Group](op="add", path="members", value=[{"value": alan.id}]),
    ]))
    assert sorted(m.value for m in patched.members) == sorted([grace.id, alan.id])

    got = scim.query(Group, team.id)
    got.display_name = "Compilers and Languages"
    got.members = [m for m in got.members if m.value == alan.id]
    replaced = scim.replace(got)
    assert replaced.display_name == "Compilers and Languages"
    assert [m.value for m in replaced.members] == [alan.id]

    everything = scim.search(SearchRequest(filter='displayName sw "Compilers"'))
    assert [r.id for r in everything.resources] == [team.id]

    # A group may hold groups (RFC 7643 §4.2); its users belong to the outer group indirectly.
    science = scim.create(Group.model_validate({
        "displayName": "Computer Science", "members": [{"value": team.id}],
    }))
    assert [(m.value, m.type) for m in science.members] == [(team.id, "Group")]
    alan_groups = scim.query(User, alan.id).groups
    assert sorted((g.value, g.type) for g in alan_groups) == sorted(
        [(team.id, "direct"), (science.id, "indirect")])
    loop = scim.modify(Group, team.id, PatchOp[Group](operations=[
        PatchOperation[Group](op="add", path="members", value=[{"value": science.id}]),
    ]), raise_scim_errors=False)
    assert isinstance(loop, Error) and loop.status == 400

    scim.delete(Group, science.id)
    scim.delete(Group, team.id)
    for person in (grace, alan):
        scim.delete(User, person.id)
    assert scim.query(Group).total_results == 0
