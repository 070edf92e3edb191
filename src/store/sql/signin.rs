//! The SQL of `SignInStore`, generic over the backend like the rest of the store. Lists of
//! strings (grant types, redirect URIs, scopes) are stored as JSON arrays.

use async_trait::async_trait;
use sqlx::{Connection, QueryBuilder};

use super::SqlStore;
use super::dialect::{Bind, Dialect, Fields, Push, Run};
use super::query::get;
use crate::store::signin::flow_and_status;
use crate::store::{
    AuthorizationKey, AuthorizationRecord, ClientRecord, Decision, Result, SessionRecord,
    SignInStore, StoreError, Tenant, TokenKey, TokenRecord,
};

const CLIENT_COLUMNS: &str = "client_id, tenant_id, secret_hash, client_name, grant_types, \
                              redirect_uris, scopes, created_ms, expires_ms";

const AUTHORIZATION_COLUMNS: &str = "authorization_id, tenant_id, client_id, flow, \
    device_code_hash, user_code_hash, code_hash, redirect_uri, code_challenge, client_state, \
    scopes, status, user_id, interval_s, next_poll_ms, created_ms, expires_ms";

const TOKEN_COLUMNS: &str = "token_id, tenant_id, user_id, client_id, access_token_hash, \
    refresh_token_hash, scopes, created_ms, access_expires_ms, refresh_expires_ms";

fn list_to_text(items: &[String]) -> String {
    serde_json::to_string(items).expect("a list of strings serialises")
}

fn list_of<DB: Dialect>(row: &DB::Row, column: &str) -> Result<Vec<String>> {
    let text: String = row.field(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

fn client_from_row<DB: Dialect>(row: &DB::Row) -> Result<(ClientRecord, String)> {
    let client = ClientRecord {
        client_id: row.field("client_id")?,
        tenant_id: row.field("tenant_id")?,
        client_name: row.field("client_name")?,
        grant_types: list_of::<DB>(row, "grant_types")?,
        redirect_uris: list_of::<DB>(row, "redirect_uris")?,
        scopes: list_of::<DB>(row, "scopes")?,
        created_ms: row.field("created_ms")?,
        expires_ms: row.field("expires_ms")?,
    };
    Ok((client, row.field("secret_hash")?))
}

fn authorization_from_row<DB: Dialect>(row: &DB::Row) -> Result<AuthorizationRecord> {
    let flow: String = row.field("flow")?;
    let status: String = row.field("status")?;
    let (flow, status) = flow_and_status(&flow, &status).ok_or_else(|| {
        StoreError::Database(sqlx::Error::Decode(
            format!("unknown authorization flow {flow:?} or status {status:?}").into(),
        ))
    })?;
    Ok(AuthorizationRecord {
        authorization_id: row.field("authorization_id")?,
        tenant_id: row.field("tenant_id")?,
        client_id: row.field("client_id")?,
        flow,
        device_code_hash: row.field("device_code_hash")?,
        user_code_hash: row.field("user_code_hash")?,
        code_hash: row.field("code_hash")?,
        redirect_uri: row.field("redirect_uri")?,
        code_challenge: row.field("code_challenge")?,
        client_state: row.field("client_state")?,
        scopes: list_of::<DB>(row, "scopes")?,
        status,
        user_id: row.field("user_id")?,
        interval_s: row.field("interval_s")?,
        next_poll_ms: row.field("next_poll_ms")?,
        created_ms: row.field("created_ms")?,
        expires_ms: row.field("expires_ms")?,
    })
}

fn token_from_row<DB: Dialect>(row: &DB::Row) -> Result<TokenRecord> {
    Ok(TokenRecord {
        token_id: row.field("token_id")?,
        tenant_id: row.field("tenant_id")?,
        user_id: row.field("user_id")?,
        client_id: row.field("client_id")?,
        access_token_hash: row.field("access_token_hash")?,
        refresh_token_hash: row.field("refresh_token_hash")?,
        scopes: list_of::<DB>(row, "scopes")?,
        created_ms: row.field("created_ms")?,
        access_expires_ms: row.field("access_expires_ms")?,
        refresh_expires_ms: row.field("refresh_expires_ms")?,
    })
}

fn session_from_row<DB: Dialect>(row: &DB::Row) -> Result<SessionRecord> {
    Ok(SessionRecord {
        tenant_id: row.field("tenant_id")?,
        user_id: row.field("user_id")?,
        created_ms: row.field("created_ms")?,
        expires_ms: row.field("expires_ms")?,
    })
}

/// `NotFound` when a statement changed no row.
fn changed(rows: u64) -> Result<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl<DB: Dialect> SqlStore<DB> {
    /// Inserts a token on a connection (of a transaction).
    async fn insert_token(conn: &mut DB::Connection, token: &TokenRecord) -> Result<()> {
        let mut qb = QueryBuilder::<DB>::new(format!(
            "INSERT INTO oidc_tokens ({TOKEN_COLUMNS}) VALUES ("
        ));
        qb.push_arg(&token.token_id)
            .push(", ")
            .push_arg(&token.tenant_id)
            .push(", ")
            .push_arg(&token.user_id)
            .push(", ")
            .push_arg(&token.client_id)
            .push(", ")
            .push_arg(&token.access_token_hash)
            .push(", ")
            .push_arg(&token.refresh_token_hash)
            .push(", ")
            .push_arg(list_to_text(&token.scopes))
            .push(", ")
            .push_arg(token.created_ms)
            .push(", ")
            .push_arg(token.access_expires_ms)
            .push(", ")
            .push_arg(token.refresh_expires_ms)
            .push(")");
        qb.build().execute_in(conn).await?;
        Ok(())
    }
}

#[async_trait]
impl<DB: Dialect> SignInStore for SqlStore<DB> {
    async fn set_password(
        &self,
        tenant: &Tenant,
        user_id: &str,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        let Some(hash) = password_hash else {
            Self::query("DELETE FROM user_passwords WHERE tenant_id = $1 AND user_id = $2")
                .arg(&tenant.tenant_id)
                .arg(user_id)
                .execute_in(&mut *conn)
                .await?;
            return Ok(());
        };
        let written = Self::query(
            "INSERT INTO user_passwords (tenant_id, user_id, password_hash, updated_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id) \
             DO UPDATE SET password_hash = $3, updated_ms = $4",
        )
        .arg(&tenant.tenant_id)
        .arg(user_id)
        .arg(hash)
        .arg(now_ms)
        .execute_in(&mut *conn)
        .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) => match StoreError::from(e) {
                // The user's foreign key: there is no such user.
                StoreError::MemberNotFound => Err(StoreError::NotFound),
                other => Err(other),
            },
        }
    }

    async fn password_hash(&self, tenant: &Tenant, user_id: &str) -> Result<Option<String>> {
        let mut conn = self.read().await?;
        let row = Self::query(
            "SELECT password_hash FROM user_passwords WHERE tenant_id = $1 AND user_id = $2",
        )
        .arg(&tenant.tenant_id)
        .arg(user_id)
        .fetch_optional_in(&mut *conn)
        .await?;
        row.map(|r| r.field("password_hash"))
            .transpose()
            .map_err(Into::into)
    }

    async fn create_client(
        &self,
        client: &ClientRecord,
        secret_hash: &str,
        now_ms: i64,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        Self::query("DELETE FROM oidc_clients WHERE expires_ms <= $1")
            .arg(now_ms)
            .execute_in(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO oidc_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        Self::query(&sql)
            .arg(&client.client_id)
            .arg(&client.tenant_id)
            .arg(secret_hash)
            .arg(&client.client_name)
            .arg(list_to_text(&client.grant_types))
            .arg(list_to_text(&client.redirect_uris))
            .arg(list_to_text(&client.scopes))
            .arg(client.created_ms)
            .arg(client.expires_ms)
            .execute_in(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<(ClientRecord, String)> {
        let mut conn = self.read().await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1");
        get(
            &mut *conn,
            Self::query(&sql).arg(client_id),
            client_from_row::<DB>,
        )
        .await
    }

    async fn create_authorization(
        &self,
        a: &AuthorizationRecord,
        purge_before_ms: i64,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        Self::query("DELETE FROM oidc_authorizations WHERE expires_ms <= $1")
            .arg(purge_before_ms)
            .execute_in(&mut *tx)
            .await?;
        let mut qb = QueryBuilder::<DB>::new(format!(
            "INSERT INTO oidc_authorizations ({AUTHORIZATION_COLUMNS}) VALUES ("
        ));
        qb.push_arg(&a.authorization_id)
            .push(", ")
            .push_arg(&a.tenant_id)
            .push(", ")
            .push_arg(&a.client_id)
            .push(", ")
            .push_arg(a.flow.as_str())
            .push(", ")
            .push_arg(&a.device_code_hash)
            .push(", ")
            .push_arg(&a.user_code_hash)
            .push(", ")
            .push_arg(&a.code_hash)
            .push(", ")
            .push_arg(&a.redirect_uri)
            .push(", ")
            .push_arg(&a.code_challenge)
            .push(", ")
            .push_arg(&a.client_state)
            .push(", ")
            .push_arg(list_to_text(&a.scopes))
            .push(", ")
            .push_arg(a.status.as_str())
            .push(", ")
            .push_arg(&a.user_id)
            .push(", ")
            .push_arg(a.interval_s)
            .push(", ")
            .push_arg(a.next_poll_ms)
            .push(", ")
            .push_arg(a.created_ms)
            .push(", ")
            .push_arg(a.expires_ms)
            .push(")");
        qb.build().execute_in(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_authorization(&self, key: AuthorizationKey<'_>) -> Result<AuthorizationRecord> {
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM oidc_authorizations WHERE "
        ));
        match key {
            AuthorizationKey::Id(id) => qb.push("authorization_id = ").push_arg(id),
            AuthorizationKey::DeviceCode { hash } => qb.push("device_code_hash = ").push_arg(hash),
            AuthorizationKey::UserCode { tenant_id, hash } => qb
                .push("tenant_id = ")
                .push_arg(tenant_id)
                .push(" AND user_code_hash = ")
                .push_arg(hash),
            AuthorizationKey::Code { hash } => qb.push("code_hash = ").push_arg(hash),
        };
        let mut conn = self.read().await?;
        let row = qb
            .build()
            .fetch_optional_in(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        authorization_from_row::<DB>(&row)
    }

    async fn decide_authorization(
        &self,
        authorization_id: &str,
        decision: Decision<'_>,
        now_ms: i64,
    ) -> Result<()> {
        let (status, user_id, code_hash) = match decision {
            Decision::Approve { user_id, code_hash } => ("approved", user_id, code_hash),
            Decision::Deny { user_id } => ("denied", user_id, None),
        };
        let mut conn = self.write().await?;
        let updated = Self::query(
            "UPDATE oidc_authorizations SET status = $1, user_id = $2, code_hash = $3 \
             WHERE authorization_id = $4 AND status = 'pending' AND expires_ms > $5",
        )
        .arg(status)
        .arg(user_id)
        .arg(code_hash)
        .arg(authorization_id)
        .arg(now_ms)
        .execute_in(&mut *conn)
        .await;
        match updated {
            Ok(rows) => changed(rows),
            // The user's foreign key: the user was deleted meanwhile.
            Err(e) => match StoreError::from(e) {
                StoreError::MemberNotFound => Err(StoreError::NotFound),
                other => Err(other),
            },
        }
    }

    async fn record_poll(
        &self,
        authorization_id: &str,
        seen_next_poll_ms: i64,
        next_poll_ms: i64,
        interval_s: i64,
    ) -> Result<bool> {
        let mut conn = self.write().await?;
        let updated = Self::query(
            "UPDATE oidc_authorizations SET next_poll_ms = $1, interval_s = $2 \
             WHERE authorization_id = $3 AND next_poll_ms = $4",
        )
        .arg(next_poll_ms)
        .arg(interval_s)
        .arg(authorization_id)
        .arg(seen_next_poll_ms)
        .execute_in(&mut *conn)
        .await?;
        Ok(updated > 0)
    }

    async fn redeem_authorization(
        &self,
        authorization_id: &str,
        token: &TokenRecord,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let deleted = Self::query(
            "DELETE FROM oidc_authorizations WHERE authorization_id = $1 AND status = 'approved'",
        )
        .arg(authorization_id)
        .execute_in(&mut *tx)
        .await?;
        changed(deleted)?;
        Self::query("DELETE FROM oidc_tokens WHERE refresh_expires_ms <= $1")
            .arg(token.created_ms)
            .execute_in(&mut *tx)
            .await?;
        Self::insert_token(&mut tx, token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_token(&self, key: TokenKey<'_>) -> Result<TokenRecord> {
        let (column, hash) = match key {
            TokenKey::Access(hash) => ("access_token_hash", hash),
            TokenKey::Refresh(hash) => ("refresh_token_hash", hash),
        };
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM oidc_tokens WHERE {column} = $1");
        let mut conn = self.read().await?;
        get(
            &mut *conn,
            Self::query(&sql).arg(hash),
            token_from_row::<DB>,
        )
        .await
    }

    async fn replace_token(&self, token_id: &str, new: &TokenRecord) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let deleted = Self::query("DELETE FROM oidc_tokens WHERE token_id = $1")
            .arg(token_id)
            .execute_in(&mut *tx)
            .await?;
        changed(deleted)?;
        Self::insert_token(&mut tx, new).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_token(&self, token_id: &str) -> Result<()> {
        let mut conn = self.write().await?;
        let deleted = Self::query("DELETE FROM oidc_tokens WHERE token_id = $1")
            .arg(token_id)
            .execute_in(&mut *conn)
            .await?;
        changed(deleted)
    }

    async fn create_session(&self, session_hash: &str, session: &SessionRecord) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        Self::query("DELETE FROM signin_sessions WHERE expires_ms <= $1")
            .arg(session.created_ms)
            .execute_in(&mut *tx)
            .await?;
        Self::query(
            "INSERT INTO signin_sessions (session_hash, tenant_id, user_id, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .arg(session_hash)
        .arg(&session.tenant_id)
        .arg(&session.user_id)
        .arg(session.created_ms)
        .arg(session.expires_ms)
        .execute_in(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_session(&self, tenant_id: &str, session_hash: &str) -> Result<SessionRecord> {
        let mut conn = self.read().await?;
        let query = Self::query(
            "SELECT tenant_id, user_id, created_ms, expires_ms FROM signin_sessions \
             WHERE session_hash = $1 AND tenant_id = $2",
        )
        .arg(session_hash)
        .arg(tenant_id);
        get(&mut *conn, query, session_from_row::<DB>).await
    }

    async fn delete_session(&self, session_hash: &str) -> Result<()> {
        let mut conn = self.write().await?;
        Self::query("DELETE FROM signin_sessions WHERE session_hash = $1")
            .arg(session_hash)
            .execute_in(&mut *conn)
            .await?;
        Ok(())
    }
}
