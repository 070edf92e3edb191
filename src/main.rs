//! The `idc-scim` binary: parse the configuration, open the store, then serve or administer.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use idc_scim::accounts::{self, AccountView};
use idc_scim::app;
use idc_scim::auth::{self, AwsAuth, TokenHash};
use idc_scim::clock::{Clock, SystemClock};
use idc_scim::config::{
    AccessKeyAction, AccountAction, Cli, Command, DatabaseUrl, LogFormat, PasswordAction,
    ServeArgs, TenantAction, TokenAction,
};
use idc_scim::controls::fixtures::{self, Fixture};
use idc_scim::controls::{Controls, Journal, Throttle};
use idc_scim::scim::Profile;
use idc_scim::signin::{self, users, users::PasswordError};
use idc_scim::state::{AppState, Limits};
use idc_scim::store::{self, Store, Tenant};
use idc_scim::telemetry;
use idc_scim::tenants::{self, TenantView, TokenView};
use tokio::net::TcpListener;

/// mimalloc instead of glibc's allocator: a request makes many small short-lived allocations,
/// which glibc's spends a fifth of the CPU on (free-list consolidation included) and whose
/// freed memory it is slow to give back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let result = run(Cli::parse()).await;
    telemetry::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(*args).await,
        Some(Command::Tenant { action, db }) => {
            let (store, _) = open(db.url(), LogFormat::Pretty).await?;
            tenant_command(store.as_ref(), action).await
        }
        Some(Command::Token { action, db }) => {
            let (store, default) = open(db.url(), LogFormat::Pretty).await?;
            token_command(store.as_ref(), &default, action).await
        }
        Some(Command::AccessKey { action, db }) => {
            let (store, default) = open(db.url(), LogFormat::Pretty).await?;
            access_key_command(store.as_ref(), &default, action).await
        }
        Some(Command::Password { action, db }) => {
            let (store, default) = open(db.url(), LogFormat::Pretty).await?;
            password_command(store.as_ref(), &default, action).await
        }
        Some(Command::Account { action, db }) => {
            let (store, default) = open(db.url(), LogFormat::Pretty).await?;
            account_command(store.as_ref(), &default, action).await
        }
    }
}

/// Logging, the store (migrated) and the default tenant (created on first start).
async fn open(
    database_url: &DatabaseUrl,
    log_format: LogFormat,
) -> anyhow::Result<(Arc<dyn Store>, Tenant)> {
    telemetry::init(log_format);
    let store = store::connect(database_url.expose())
        .await
        .with_context(|| format!("opening the database {database_url}"))?;
    let tenant = store
        .ensure_default_tenant(&Tenant::generate(), SystemClock.now_ms())
        .await
        .context("creating the default tenant")?;
    Ok((store, tenant))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (store, tenant) = open(args.db.url(), args.log_format).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let new_token =
        if args.token().is_none() && store.list_tokens(&tenant.tenant_id).await?.is_empty() {
            let (_, token) = auth::issue_token(store.as_ref(), &tenant.tenant_id, clock.now_ms())
                .await
                .context("storing the first access token")?;
            Some(token)
        } else {
            None
        };
    let aws_keys: HashMap<String, String> = args
        .aws_credentials()
        .map(|c| (c.access_key_id.clone(), c.secret.expose().to_owned()))
        .collect();
    let new_key =
        if aws_keys.is_empty() && store.list_access_keys(&tenant.tenant_id).await?.is_empty() {
            let key = auth::issue_access_key(store.as_ref(), &tenant.tenant_id, clock.now_ms())
                .await
                .context("storing the first AWS access key")?;
            Some(key)
        } else {
            None
        };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let loopback = addr.ip().is_loopback();
    let aws_auth = args.aws_auth.unwrap_or(if loopback && aws_keys.is_empty() {
        AwsAuth::Any
    } else {
        AwsAuth::Verify
    });
    let mut warnings = Vec::new();
    if aws_auth == AwsAuth::Any && !loopback {
        warnings.push(format!(
            "AWS signatures are not verified (--aws-auth any) on {addr}: anyone who reaches it \
             reads and writes every tenant through the AWS APIs"
        ));
    }
    let token_line = match (args.token(), &new_token) {
        (Some(_), _) => "the one given with --token, --token-file or the environment".to_owned(),
        (None, Some(token)) => {
            format!("{token}\n  (shown once: keep it; it is stored only as a hash)")
        }
        (None, None) => {
            "shown when it was created; `idc-scim token create` makes another".to_owned()
        }
    };
    let mut banner = format!(
        "idc-scim: IAM Identity Center SCIM endpoint\n\
         \x20 SCIM endpoint:     http://{addr}/{}/scim/v2/\n\
         \x20 (short alias):     http://{addr}/scim/v2/\n\
         \x20 Identity store id: {}\n\
         \x20 Instance ARN:      {}\n\
         \x20 Start URL:         http://{addr}{}\n",
        tenant.tenant_id,
        tenant.identity_store_id,
        idc_scim::sso::instance_arn(&idc_scim::sso::instance_id(&tenant.identity_store_id)),
        signin::start_path(&tenant.tenant_id)
    );
    if args.admin_token().is_some() {
        banner.push_str(&format!(
            "  Admin API:         http://{addr}/admin/tenants\n\
             \x20 Console:           http://{addr}/console (sign in with the admin credential)\n"
        ));
    }
    if args.profile == Profile::Rfc {
        banner.push_str("  Profile:           rfc (the full SCIM 2.0 protocol of RFC 7644)\n");
    }
    banner.push_str(&format!(
        "  AWS endpoint:      http://{addr}/ (region {})\n",
        args.aws_region
    ));
    banner.push_str(match aws_auth {
        AwsAuth::Verify => {
            "  AWS signatures:    verified; an access key reaches its own tenant only\n"
        }
        AwsAuth::Any => {
            "  AWS signatures:    NOT verified (--aws-auth any): any well-formed signature \
             reaches every tenant\n"
        }
    });
    match (&new_key, aws_keys.is_empty()) {
        (Some((info, secret)), _) => banner.push_str(&format!(
            "  AWS access key id: {}\n  AWS secret key:    {secret}\n  \
             (shown once: keep it; `idc-scim access-key create` makes another)\n",
            info.access_key_id
        )),
        (None, false) => banner.push_str(
            "  AWS access key id: the ones given with --aws-credentials, its file or the environment\n",
        ),
        (None, true) => banner.push_str(
            "  AWS access key id: shown when it was created; `idc-scim access-key create` makes \
             another\n",
        ),
    }
    if let Some(user_name) = &args.sign_in_as {
        banner.push_str(&format!(
            "  Sign-in:           every authorization approved as {user_name} (--sign-in-as)\n"
        ));
    }
    banner.push_str(&format!("  Access token:      {token_line}\n"));
    // Written once, and a closed stdout is no reason to stop serving.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let limit = args.throttle_limit();
    if limit.is_some_and(|l| !(l.rate > 0.0 && l.burst >= 1.0)) {
        anyhow::bail!("--throttle-rate must be above 0 and --throttle-burst at least 1");
    }
    let controls = Controls {
        journal: Journal::new(args.journal_size),
        throttle: Throttle::new(limit),
        ..Controls::default()
    };
    for spec in &args.faults {
        controls
            .faults
            .add(spec.clone())
            .map_err(|e| anyhow::anyhow!("--fault: {e}"))?;
    }
    if let Some(path) = &args.seed {
        seed_default_tenant(store.as_ref(), &tenant, &controls, path).await?;
    }
    let state = Arc::new(AppState {
        static_token: args.token().map(|t| TokenHash::of(t.expose())),
        admin_token: args.admin_token().map(|t| TokenHash::of(t.expose())),
        aws_auth,
        aws_region: args.aws_region.clone(),
        aws_keys,
        warnings,
        controls,
        profile: args.profile,
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        limits: Limits {
            max_connections: connection_cap(args.max_connections),
            ..args.limits()
        },
        sign_in_as: args.sign_in_as.clone(),
        ..AppState::new(store.clone(), tenant, clock)
    });
    tracing::info!(%addr, database = %args.db.url(), aws_auth = %aws_auth, "serving");
    app::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The connection cap, within the descriptor limit: the soft limit is raised as far as the
/// cap needs (up to the hard limit), else the cap is lowered, with a warning. Descriptors are
/// kept apart for the database, the listener, files and the runtime.
fn connection_cap(wanted: usize) -> usize {
    const RESERVED: u64 = 64;
    let needed = wanted as u64 + RESERVED;
    match rlimit::increase_nofile_limit(needed) {
        Ok(limit) if limit >= needed => wanted,
        Ok(limit) => {
            let cap = limit.saturating_sub(RESERVED).max(1) as usize;
            tracing::warn!(
                wanted,
                cap,
                descriptor_limit = limit,
                "--max-connections lowered to stay below the descriptor limit"
            );
            cap
        }
        Err(e) => {
            tracing::warn!(error = %e, "the descriptor limit could not be read");
            wanted
        }
    }
}

/// Loads `--seed` into the default tenant when it holds no user nor group, and remembers it as
/// the tenant's seed for `reset`.
async fn seed_default_tenant(
    store: &dyn Store,
    tenant: &Tenant,
    controls: &Controls,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the seed {}", path.display()))?;
    let fixture: Fixture = serde_json::from_str(&text)
        .with_context(|| format!("parsing the seed {}", path.display()))?;
    if fixtures::is_empty(store, tenant).await? {
        let loaded = fixtures::load(store, tenant, &fixture, SystemClock.now_ms())
            .await
            .with_context(|| format!("loading the seed {}", path.display()))?;
        tracing::info!(
            users = loaded.users,
            groups = loaded.groups,
            memberships = loaded.memberships,
            accounts = loaded.accounts,
            permission_sets = loaded.permission_sets,
            assignments = loaded.assignments,
            "seeded the default tenant"
        );
    } else {
        tracing::warn!("the default tenant is not empty: the seed was not loaded (reset loads it)");
    }
    controls.seeds.remember(&tenant.tenant_id, fixture);
    Ok(())
}

fn print_tenant(view: &TenantView) {
    println!("  Tenant id:         {}", view.tenant_id);
    println!("  Identity store id: {}", view.identity_store_id);
    println!("  SCIM path:         {}", view.scim_path);
    println!("  Start URL path:    {}", view.start_path);
    println!(
        "  Provisioning:      {}",
        if view.provisioning_enabled {
            "enabled"
        } else {
            "disabled"
        }
    );
}

async fn tenant_command(store: &dyn Store, action: TenantAction) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    match action {
        TenantAction::Create { tenant_id } => {
            let view = tenants::create_tenant(store, tenant_id.as_deref(), now).await?;
            println!("Tenant created.");
            print_tenant(&view);
            println!(
                "Create its access token with: idc-scim token create --tenant {}",
                view.tenant_id
            );
        }
        TenantAction::List => {
            let tenants = tenants::list_tenants(store).await?;
            println!(
                "{:<38} {:<14} {:<8} {:<13} {:<21} START URL (PATH)",
                "TENANT ID", "IDENTITY STORE", "DEFAULT", "PROVISIONING", "CREATED"
            );
            for t in tenants {
                println!(
                    "{:<38} {:<14} {:<8} {:<13} {:<21} {}",
                    t.tenant_id,
                    t.identity_store_id,
                    if t.is_default { "yes" } else { "" },
                    if t.provisioning_enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    t.created_at,
                    t.start_path
                );
            }
        }
        TenantAction::Delete { tenant } => {
            tenants::delete_tenant(store, &tenant).await?;
            println!("Tenant {tenant} deleted, with its users, groups and tokens.");
        }
        TenantAction::Enable { tenant } => {
            tenants::set_provisioning(store, &tenant, true).await?;
            println!("Automatic provisioning enabled for {tenant}.");
        }
        TenantAction::Disable { tenant } => {
            tenants::set_provisioning(store, &tenant, false).await?;
            println!(
                "Automatic provisioning disabled for {tenant}: its SCIM endpoint answers 401."
            );
        }
    }
    Ok(())
}

fn token_row(t: &TokenView) -> String {
    format!(
        "{:<38} {:<21} {:<21} {:<21} {}",
        t.token_id,
        t.created_at,
        t.expires_at,
        t.last_used_at.as_deref().unwrap_or("never"),
        if t.expired { "expired" } else { "active" }
    )
}

async fn token_command(
    store: &dyn Store,
    default: &Tenant,
    action: TokenAction,
) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    match action {
        TokenAction::Create { tenant } => {
            let tenant = tenant.or(&default.tenant_id);
            let new = tenants::create_token(store, &tenant, now).await?;
            println!("Access token (shown once; only its hash is stored):");
            println!("{}", new.token);
            println!("  Token id: {}", new.view.token_id);
            println!("  Expires:  {}", new.view.expires_at);
            println!("  Tenant:   {tenant}");
        }
        TokenAction::List { tenant } => {
            let tenant = tenant.or(&default.tenant_id);
            let tokens = tenants::list_tokens(store, &tenant, now).await?;
            println!(
                "{:<38} {:<21} {:<21} {:<21} STATUS",
                "TOKEN ID", "CREATED", "EXPIRES", "LAST USED"
            );
            for t in tokens {
                println!("{}", token_row(&t));
            }
        }
        TokenAction::Delete { tenant, token_id } => {
            let tenant = tenant.or(&default.tenant_id);
            tenants::delete_token(store, &tenant, &token_id).await?;
            println!("Token {token_id} deleted: it no longer authenticates.");
        }
    }
    Ok(())
}

async fn access_key_command(
    store: &dyn Store,
    default: &Tenant,
    action: AccessKeyAction,
) -> anyhow::Result<()> {
    match action {
        AccessKeyAction::Create { tenant } => {
            let tenant = tenant.or(&default.tenant_id);
            let new = tenants::create_access_key(store, &tenant, SystemClock.now_ms()).await?;
            println!("AWS access key (the secret is shown once):");
            println!("  Access key id:     {}", new.view.access_key_id);
            println!("  Secret access key: {}", new.secret_access_key);
            println!("  Tenant:            {tenant}");
        }
        AccessKeyAction::List { tenant } => {
            let keys = tenants::list_access_keys(store, &tenant.or(&default.tenant_id)).await?;
            println!(
                "{:<22} {:<8} {:<21} LAST USED",
                "ACCESS KEY ID", "STATUS", "CREATED"
            );
            for k in keys {
                println!(
                    "{:<22} {:<8} {:<21} {}",
                    k.access_key_id,
                    k.status,
                    k.created_at,
                    k.last_used_at.as_deref().unwrap_or("never")
                );
            }
        }
        AccessKeyAction::Delete {
            tenant,
            access_key_id,
        } => {
            tenants::delete_access_key(store, &tenant.or(&default.tenant_id), &access_key_id)
                .await?;
            println!("Access key {access_key_id} deleted: requests signed with it are refused.");
        }
    }
    Ok(())
}

async fn password_command(
    store: &dyn Store,
    default: &Tenant,
    action: PasswordAction,
) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    let (tenant_id, user_name, password) = match action {
        PasswordAction::Set {
            tenant,
            password,
            user_name,
        } => {
            let password = match password {
                Some(p) => p.expose().to_owned(),
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            (tenant, user_name, Some(password))
        }
        PasswordAction::Remove { tenant, user_name } => (tenant, user_name, None),
    };
    let tenant_id = tenant_id.or(&default.tenant_id);
    let tenant = tenants::tenant(store, &tenant_id).await?;
    users::set_password(store, &tenant, &user_name, password.as_deref(), now)
        .await
        .map_err(|e| match e {
            PasswordError::UnknownUser => anyhow::anyhow!("no user {user_name} in {tenant_id}"),
            PasswordError::Invalid(message) => anyhow::anyhow!(message),
            PasswordError::Internal => anyhow::anyhow!("the store failed (see the log)"),
        })?;
    match password {
        Some(_) => println!("Password of {user_name} set."),
        None => println!("Password of {user_name} removed: the user signs in by name alone."),
    }
    Ok(())
}

fn account_row(a: &AccountView) -> String {
    format!(
        "{:<14} {:<24} {:<32} {}",
        a.account_id, a.name, a.email, a.created_at
    )
}

async fn account_command(
    store: &dyn Store,
    default: &Tenant,
    action: AccountAction,
) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    match action {
        AccountAction::Create {
            tenant,
            account_id,
            name,
            email,
        } => {
            let tenant = tenant.or(&default.tenant_id);
            let account = idc_scim::sso::Account {
                account_id,
                name,
                email,
            };
            let view = accounts::create_account(store, &tenant, account, now).await?;
            println!("Account {} declared in tenant {tenant}.", view.account_id);
        }
        AccountAction::List { tenant } => {
            let accounts = accounts::list_accounts(store, &tenant.or(&default.tenant_id)).await?;
            println!(
                "{:<14} {:<24} {:<32} CREATED",
                "ACCOUNT ID", "NAME", "EMAIL"
            );
            for a in accounts {
                println!("{}", account_row(&a));
            }
        }
        AccountAction::Delete { tenant, account_id } => {
            let tenant = tenant.or(&default.tenant_id);
            accounts::delete_account(store, &tenant, &account_id).await?;
            println!("Account {account_id} deleted from tenant {tenant}, with its assignments.");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
