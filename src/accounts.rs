//! The AWS accounts of a tenant's organization. IAM Identity Center assigns access to the
//! accounts of its AWS Organization; this server has no organization, so the operator declares
//! the accounts (12-digit id, name, email, checked as AWS Organizations checks them) with the
//! CLI (`idc-scim account ...`), the admin API or a fixture. One set of operations, called by
//! the CLI and the admin API; the errors are SCIM errors, which the admin API answers with
//! AWS's body.

use serde::Serialize;

use crate::clock::timestamp;
use crate::scim::ScimError;
use crate::sso::Account;
use crate::store::{AccountRecord, Constraint, ListArgs, Store, StoreError, Tenant, all_pages};
use crate::tenants;

/// An account as the administration shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub created_at: String,
}

impl From<AccountRecord> for AccountView {
    fn from(r: AccountRecord) -> Self {
        Self {
            account_id: r.account.account_id,
            name: r.account.name,
            email: r.account.email,
            created_at: timestamp(r.created_ms),
        }
    }
}

fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::NotFound("Account not found.".to_owned()),
        StoreError::Conflict(Constraint::AccountId) => {
            ScimError::Conflict("Account already exists.".to_owned())
        }
        other => {
            tracing::error!(error = ?other, "store failure");
            ScimError::Internal
        }
    }
}

/// Declares an account in a tenant.
pub async fn create_account(
    store: &dyn Store,
    tenant_id: &str,
    account: Account,
    now_ms: i64,
) -> Result<AccountView, ScimError> {
    let tenant = tenants::tenant(store, tenant_id).await?;
    account
        .check()
        .map_err(|e| ScimError::invalid(e.to_string()))?;
    store
        .create_account(&tenant, &account, now_ms)
        .await
        .map_err(store_error)?;
    store
        .get_account(&tenant, &account.account_id)
        .await
        .map(AccountView::from)
        .map_err(store_error)
}

/// Every account of a tenant, in id order.
pub async fn all_accounts(
    store: &dyn Store,
    tenant: &Tenant,
) -> Result<Vec<AccountRecord>, StoreError> {
    all_pages(
        |after| async move {
            store
                .list_accounts(tenant, ListArgs::scan(after.as_deref()))
                .await
        },
        |a: &AccountRecord| a.account.account_id.as_str(),
    )
    .await
}

/// A tenant's accounts, in id order.
pub async fn list_accounts(
    store: &dyn Store,
    tenant_id: &str,
) -> Result<Vec<AccountView>, ScimError> {
    let tenant = tenants::tenant(store, tenant_id).await?;
    let accounts = all_accounts(store, &tenant).await.map_err(store_error)?;
    Ok(accounts.into_iter().map(AccountView::from).collect())
}

/// Removes an account, with every assignment to it.
pub async fn delete_account(
    store: &dyn Store,
    tenant_id: &str,
    account_id: &str,
) -> Result<(), ScimError> {
    let tenant = tenants::tenant(store, tenant_id).await?;
    store
        .delete_account(&tenant, account_id)
        .await
        .map_err(store_error)
}
