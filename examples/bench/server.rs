//! The server under test when the benchmark starts its own: in this process, on 127.0.0.1,
//! on a fresh tenant.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use idc_scim::app;
use idc_scim::auth;
use idc_scim::clock::{Clock, SystemClock};
use idc_scim::state::AppState;
use idc_scim::store::{self, Tenant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn create() -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("idc-scim-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server running in this process, on a fresh tenant.
pub struct LocalServer {
    pub base: String,
    pub token: String,
    shutdown: oneshot::Sender<()>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl LocalServer {
    pub async fn start(database_url: &str) -> anyhow::Result<Self> {
        let store = store::connect(database_url)
            .await
            .context("opening the database")?;
        let clock = Arc::new(SystemClock);
        let now = clock.now_ms();
        let tenant = Tenant::generate();
        store
            .create_tenant(&tenant, now)
            .await
            .context("creating the tenant")?;
        let (_, token) = auth::issue_token(store.as_ref(), &tenant.tenant_id, now)
            .await
            .context("storing the access token")?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}/{}/scim/v2", tenant.tenant_id);
        let state = Arc::new(AppState::new(store, tenant, clock));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            token,
            shutdown,
            handle,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.handle.await?.context("serving")
    }
}
