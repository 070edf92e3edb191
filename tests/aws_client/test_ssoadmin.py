"""The sso-admin API of idc-scim driven by real AWS clients (boto3 and the AWS CLI), as
Terraform's AWS provider and scripts drive AWS: find the instance and its identity store, make
a permission set with policies, provision users and groups over SCIM, assign a group to an
account, wait on the status objects, list the assignments, and take it all down again.
"""

import json
import time

import pytest
import requests

from harness import PATCH_OP, aws_cli, error_of, scim_group, scim_user

ACCOUNT = "111111111111"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
INLINE = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def sso_admin(server, *args):
    """`aws sso-admin <args>`, parsed; fails the test on an error."""
    out = aws_cli(server, "sso-admin", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def wait(describe, member):
    """Polls a status object until it leaves IN_PROGRESS, as Terraform's provider does."""
    for _ in range(50):
        status = describe()[member]
        if status["Status"] != "IN_PROGRESS":
            return status
        time.sleep(0.1)
    raise AssertionError(f"{member} stayed IN_PROGRESS")


def declare_account(server, account_id, name):
    """Declares an account with the `idc-scim account` command, as an operator does."""
    out = server.command("account", "create", "--tenant", server.tenant_id,
                         "--account-id", account_id, "--name", name,
                         "--email", f"{name}@example.com")
    assert out.returncode == 0, out.stderr


def test_a_terraform_like_flow_with_boto3_and_the_aws_cli(server):
    # Find the instance and its identity store, as `data "aws_ssoadmin_instances"` does.
    instances = sso_admin(server, "list-instances")["Instances"]
    instance = next(i for i in instances if i["IdentityStoreId"] == server.store_id)
    instance_arn = instance["InstanceArn"]
    assert instance_arn.startswith("arn:aws:sso:::instance/ssoins-")
    declare_account(server, ACCOUNT, "dev")

    # A permission set with an AWS managed policy and an inline policy.
    created = sso_admin(server, "create-permission-set", "--instance-arn", instance_arn,
                        "--name", "DataReaders", "--session-duration", "PT4H",
                        "--description", "Read the data buckets")
    ps_arn = created["PermissionSet"]["PermissionSetArn"]
    assert created["PermissionSet"]["SessionDuration"] == "PT4H"
    admin = server.client("sso-admin")
    admin.attach_managed_policy_to_permission_set(
        InstanceArn=instance_arn, PermissionSetArn=ps_arn, ManagedPolicyArn=READ_ONLY)
    sso_admin(server, "put-inline-policy-to-permission-set", "--instance-arn", instance_arn,
              "--permission-set-arn", ps_arn, "--inline-policy", json.dumps(INLINE))
    inline = admin.get_inline_policy_for_permission_set(
        InstanceArn=instance_arn, PermissionSetArn=ps_arn)["InlinePolicy"]
    assert json.loads(inline) == INLINE
    managed = sso_admin(server, "list-managed-policies-in-permission-set",
                        "--instance-arn", instance_arn, "--permission-set-arn", ps_arn)
    assert managed["AttachedManagedPolicies"] == [{"Name": "ReadOnlyAccess", "Arn": READ_ONLY}]

    # A group and a user provisioned over SCIM, the user added to the group.
    user_id = scim_user(server, "flow-user")
    group_id = scim_group(server, "DataTeam", [])
    r = server.scim_call("PATCH", f"/Groups/{group_id}", {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]})
    assert r.status_code == 204, r.text

    # Assign the group to the account and wait on the creation status.
    created = admin.create_account_assignment(
        InstanceArn=instance_arn, TargetId=ACCOUNT, TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps_arn, PrincipalType="GROUP", PrincipalId=group_id)
    request_id = created["AccountAssignmentCreationStatus"]["RequestId"]
    assert created["AccountAssignmentCreationStatus"]["Status"] == "IN_PROGRESS"
    status = wait(lambda: admin.describe_account_assignment_creation_status(
        InstanceArn=instance_arn, AccountAssignmentCreationRequestId=request_id),
        "AccountAssignmentCreationStatus")
    assert status["Status"] == "SUCCEEDED", status
    assert status["CreatedDate"].year >= 2024

    # The assignments of the user's groups, found through the Identity Store API.
    store = server.client()
    memberships = store.list_group_memberships_for_member(
        IdentityStoreId=server.store_id, MemberId={"UserId": user_id})["GroupMemberships"]
    groups = [m["GroupId"] for m in memberships]
    assert groups == [group_id]
    for group in groups:
        pages = admin.get_paginator("list_account_assignments_for_principal").paginate(
            InstanceArn=instance_arn, PrincipalType="GROUP", PrincipalId=group,
            Filter={"AccountId": ACCOUNT})
        found = [a for page in pages for a in page["AccountAssignments"]]
        assert found == [{"AccountId": ACCOUNT, "PermissionSetArn": ps_arn,
                          "PrincipalType": "GROUP", "PrincipalId": group_id}]
    # And the assignments on the account, with the AWS CLI.
    on_account = sso_admin(server, "list-account-assignments", "--instance-arn", instance_arn,
                           "--account-id", ACCOUNT, "--permission-set-arn", ps_arn)
    assert [a["PrincipalId"] for a in on_account["AccountAssignments"]] == [group_id]
    provisioned = sso_admin(server, "list-accounts-for-provisioned-permission-set",
                            "--instance-arn", instance_arn, "--permission-set-arn", ps_arn,
                            "--provisioning-status", "LATEST_PERMISSION_SET_PROVISIONED")
    assert provisioned["AccountIds"] == [ACCOUNT]

    # Down again, in reverse order, each step as Terraform's destroy makes it.
    deleted = admin.delete_account_assignment(
        InstanceArn=instance_arn, TargetId=ACCOUNT, TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps_arn, PrincipalType="GROUP", PrincipalId=group_id)
    deletion_id = deleted["AccountAssignmentDeletionStatus"]["RequestId"]
    status = wait(lambda: admin.describe_account_assignment_deletion_status(
        InstanceArn=instance_arn, AccountAssignmentDeletionRequestId=deletion_id),
        "AccountAssignmentDeletionStatus")
    assert status["Status"] == "SUCCEEDED", status
    assert admin.list_account_assignments(
        InstanceArn=instance_arn, AccountId=ACCOUNT, PermissionSetArn=ps_arn)["AccountAssignments"] == []
    sso_admin(server, "delete-inline-policy-from-permission-set", "--instance-arn", instance_arn,
              "--permission-set-arn", ps_arn)
    admin.detach_managed_policy_from_permission_set(
        InstanceArn=instance_arn, PermissionSetArn=ps_arn, ManagedPolicyArn=READ_ONLY)
    provision = admin.provision_permission_set(
        InstanceArn=instance_arn, PermissionSetArn=ps_arn, TargetType="ALL_PROVISIONED_ACCOUNTS")
    status = wait(lambda: admin.describe_permission_set_provisioning_status(
        InstanceArn=instance_arn,
        ProvisionPermissionSetRequestId=provision["PermissionSetProvisioningStatus"]["RequestId"]),
        "PermissionSetProvisioningStatus")
    assert status["Status"] == "SUCCEEDED"
    sso_admin(server, "delete-permission-set", "--instance-arn", instance_arn,
              "--permission-set-arn", ps_arn)
    for path in (f"/Groups/{group_id}", f"/Users/{user_id}"):
        assert server.scim_call("DELETE", path).status_code == 204
    listed = sso_admin(server, "list-permission-sets", "--instance-arn", instance_arn)
    assert ps_arn not in listed["PermissionSets"]


def test_errors_reach_boto3_and_the_cli_as_modelled_exceptions(server):
    admin = server.client("sso-admin")
    instance_arn = admin.list_instances()["Instances"][0]["InstanceArn"]
    ps_arn = admin.create_permission_set(
        InstanceArn=instance_arn, Name="Dup")["PermissionSet"]["PermissionSetArn"]
    with pytest.raises(admin.exceptions.ConflictException) as e:
        admin.create_permission_set(InstanceArn=instance_arn, Name="Dup")
    code, response = error_of(e)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "already exists" in response["Error"]["Message"]

    user_id = scim_user(server, "errors-user")
    with pytest.raises(admin.exceptions.ValidationException) as e:
        admin.create_account_assignment(
            InstanceArn=instance_arn, TargetId="999999999999", TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps_arn, PrincipalType="USER", PrincipalId=user_id)
    assert "999999999999" in e.value.response["Error"]["Message"]

    with pytest.raises(admin.exceptions.ResourceNotFoundException):
        admin.describe_permission_set(
            InstanceArn=instance_arn, PermissionSetArn=ps_arn[:-16] + "0" * 16)
    with pytest.raises(admin.exceptions.AccessDeniedException):
        admin.list_permission_sets(InstanceArn="arn:aws:sso:::instance/ssoins-0000000000000000")
    with pytest.raises(admin.exceptions.ValidationException):
        admin.put_inline_policy_to_permission_set(
            InstanceArn=instance_arn, PermissionSetArn=ps_arn, InlinePolicy="{}")

    out = aws_cli(server, "sso-admin", "create-permission-set", "--instance-arn", instance_arn,
                  "--name", "Dup")
    assert out.returncode != 0
    assert "ConflictException" in out.stderr


def test_listings_page_with_next_tokens_in_both_clients(server):
    admin = server.client("sso-admin")
    instance_arn = admin.list_instances()["Instances"][0]["InstanceArn"]
    made = {admin.create_permission_set(InstanceArn=instance_arn, Name=f"Paged{i}")
            ["PermissionSet"]["PermissionSetArn"] for i in range(5)}
    pages = list(admin.get_paginator("list_permission_sets").paginate(
        InstanceArn=instance_arn, PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    listed = [arn for page in pages for arn in page["PermissionSets"]]
    assert made <= set(listed) and len(listed) == len(set(listed))
    # The AWS CLI follows NextToken on its own.
    out = sso_admin(server, "list-permission-sets", "--instance-arn", instance_arn,
                    "--page-size", "1")
    assert made <= set(out["PermissionSets"])


def test_the_journal_shows_aws_json_requests_by_operation(server):
    admin = server.client("sso-admin")
    instance_arn = admin.list_instances()["Instances"][0]["InstanceArn"]
    admin.create_permission_set(InstanceArn=instance_arn, Name="Journaled")
    r = requests.get(
        f"{server.endpoint}/admin/tenants/{server.tenant_id}/journal",
        params={"path": "/sso-admin/CreatePermissionSet"},
        headers={"Authorization": "Bearer aws-client-admin"}, timeout=10)
    assert r.status_code == 200, r.text
    names = [e["body"]["Name"] for e in r.json()]
    assert "Journaled" in names
