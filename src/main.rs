//! The `idc-scim` binary: parse the configuration, open the store, serve.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use idc_scim::app::{self, AppState};
use idc_scim::auth::{self, TokenHash};
use idc_scim::clock::{Clock, SystemClock};
use idc_scim::config::{Cli, Command, ServeArgs};
use idc_scim::store::{self, Tenant};
use idc_scim::telemetry;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    let store = store::connect(&args.database_url)
        .await
        .context("opening the database")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tenant = store
        .ensure_default_tenant(&Tenant::generate(), clock.now_ms())
        .await
        .context("creating the default tenant")?;
    let new_token = if args.token.is_none() && store.count_tokens(&tenant.tenant_id).await? == 0 {
        let token = auth::issue_token(store.as_ref(), &tenant.tenant_id, clock.now_ms())
            .await
            .context("storing the first access token")?;
        Some(token)
    } else {
        None
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("idc-scim: IAM Identity Center SCIM endpoint");
    println!(
        "  SCIM endpoint:     http://{addr}/{}/scim/v2/",
        tenant.tenant_id
    );
    println!("  (short alias):     http://{addr}/scim/v2/");
    println!("  Identity store id: {}", tenant.identity_store_id);
    match (&args.token, &new_token) {
        (Some(_), _) => {
            println!("  Access token:      the one given with --token / IDC_SCIM_TOKEN")
        }
        (None, Some(token)) => println!(
            "  Access token:      {token}\n  (shown once: keep it; it is stored only as a hash)"
        ),
        (None, None) => println!(
            "  Access token:      shown when it was created; pass --token to start with a known one"
        ),
    }
    let state = Arc::new(AppState {
        store: store.clone(),
        default_tenant: tenant,
        static_token: args.token.as_ref().map(|t| TokenHash::of(t.expose())),
        clock,
    });
    tracing::info!(%addr, "serving");
    app::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
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
