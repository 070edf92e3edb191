//! Command line and environment configuration.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::AwsAuth;
use crate::scim::Profile;
use crate::state::Limits;

/// A SCIM 2.0 server that behaves like the SCIM endpoint of AWS IAM Identity Center.
#[derive(Debug, Parser)]
#[command(name = "idc-scim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(Box<ServeArgs>),
    /// Create, list and delete tenants (identity stores), and switch their provisioning.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Create, list and delete the SCIM access tokens of a tenant.
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Create, list and delete the AWS access keys of a tenant (for the AWS APIs).
    AccessKey {
        #[command(subcommand)]
        action: AccessKeyAction,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Declare, list and delete the AWS accounts of a tenant's organization (the targets of
    /// account assignments).
    Account {
        #[command(subcommand)]
        action: AccountAction,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Set or remove the password with which a user signs in at the start URL.
    Password {
        #[command(subcommand)]
        action: PasswordAction,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// The tenant a command acts on.
#[derive(Debug, Clone, clap::Args)]
pub struct TenantArg {
    /// The tenant id (default: the default tenant).
    #[arg(long = "tenant", value_name = "TENANT")]
    pub id: Option<String>,
}

impl TenantArg {
    /// The tenant id given, or `default`'s.
    pub fn or(self, default: &str) -> String {
        self.id.unwrap_or_else(|| default.to_owned())
    }
}

#[derive(Debug, Subcommand)]
pub enum PasswordAction {
    /// Set a user's password (8 to 64 characters), read from --password,
    /// IDC_SCIM_PASSWORD or the first line of standard input.
    Set {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long, env = "IDC_SCIM_PASSWORD", hide_env_values = true)]
        password: Option<Secret>,
        user_name: String,
    },
    /// Remove a user's password: the user signs in by name alone.
    Remove {
        #[command(flatten)]
        tenant: TenantArg,
        user_name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant; its tenant id is generated unless given.
    Create {
        #[arg(long)]
        tenant_id: Option<String>,
    },
    /// List the tenants.
    List,
    /// Delete a tenant with all its users, groups and tokens.
    Delete { tenant: String },
    /// Enable automatic provisioning (the SCIM endpoint accepts requests).
    Enable { tenant: String },
    /// Disable automatic provisioning (the SCIM endpoint answers 401).
    Disable { tenant: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Generate an access token; the secret is printed once.
    Create {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List the tokens of a tenant: ids and dates, never secrets.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete a token; it stops working at once.
    Delete {
        #[command(flatten)]
        tenant: TenantArg,
        token_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessKeyAction {
    /// Generate an access key; its secret is printed once.
    Create {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List the access keys of a tenant: ids and dates, never secrets.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete an access key; requests signed with it are refused at once.
    Delete {
        #[command(flatten)]
        tenant: TenantArg,
        access_key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Declare an account: a 12-digit id, a name and the email of its root user.
    Create {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// List the accounts of a tenant.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete an account, with every assignment to it.
    Delete {
        #[command(flatten)]
        tenant: TenantArg,
        account_id: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database: `sqlite:FILE` (created if missing) or `postgres://user:password@host/db`.
    #[arg(
        long,
        env = "IDC_SCIM_DATABASE_URL",
        default_value = "sqlite://idc-scim.db",
        hide_env_values = true
    )]
    pub database_url: DatabaseUrl,

    /// The database URL read from a file (a Docker or Kubernetes secret); it overrides
    /// --database-url.
    #[arg(long, env = "IDC_SCIM_DATABASE_URL_FILE", value_name = "FILE", value_parser = |p: &str| read_file(p)?.trim().parse::<DatabaseUrl>())]
    pub database_url_file: Option<DatabaseUrl>,
}

impl DatabaseArgs {
    /// The database URL: --database-url-file's, else --database-url.
    pub fn url(&self) -> &DatabaseUrl {
        self.database_url_file
            .as_ref()
            .unwrap_or(&self.database_url)
    }
}

/// A database URL. Its `Debug` and `Display` hide the password it may hold.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    /// `postgres://user:****@host/db`: everything between the user's `:` and the `@` of the
    /// authority is hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        let Some((scheme, rest)) = url.split_once("://") else {
            return f.write_str(url);
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        match authority
            .rsplit_once('@')
            .and_then(|(userinfo, host)| Some((userinfo.split_once(':')?.0, host)))
        {
            Some((user, host)) => write!(f, "{scheme}://{user}:****@{host}{tail}"),
            None => f.write_str(url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.to_owned()))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "IDC_SCIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub db: DatabaseArgs,

    /// An access token to accept for the default tenant, in addition to the stored ones.
    /// Prefer --token-file or the environment: a flag shows in the process list.
    #[arg(long, env = "IDC_SCIM_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,

    /// --token read from a file (a Docker or Kubernetes secret).
    #[arg(long, env = "IDC_SCIM_TOKEN_FILE", value_name = "FILE", value_parser = secret_file, conflicts_with = "token")]
    pub token_file: Option<Secret>,

    /// The credential of the admin API (`/admin/...`) and of the console (`/console`); without
    /// it both are off. Prefer --admin-token-file or the environment.
    #[arg(long, env = "IDC_SCIM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,

    /// --admin-token read from a file.
    #[arg(long, env = "IDC_SCIM_ADMIN_TOKEN_FILE", value_name = "FILE", value_parser = secret_file, conflicts_with = "admin_token")]
    pub admin_token_file: Option<Secret>,

    /// How the AWS APIs authenticate requests. The default is `verify`, except on a loopback
    /// address without --aws-credentials, where it is `any`.
    #[arg(long, env = "IDC_SCIM_AWS_AUTH", value_parser = named_parser::<AwsAuth>(AwsAuth::ALL.map(|m| (m.as_str(), m.summary()))))]
    pub aws_auth: Option<AwsAuth>,

    /// The region AWS signatures must be scoped to when they are verified.
    #[arg(long, env = "IDC_SCIM_AWS_REGION", default_value = crate::state::DEFAULT_AWS_REGION)]
    pub aws_region: String,

    /// AWS access keys `ID:SECRET` (comma-separated or repeated) of the default tenant, besides
    /// its stored ones (`idc-scim access-key create`), for the AWS JSON APIs (Identity Store,
    /// sso-admin); they turn verification on.
    #[arg(
        long = "aws-credentials",
        env = "IDC_SCIM_AWS_CREDENTIALS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub aws_credentials: Vec<AwsCredential>,

    /// --aws-credentials read from a file: `ID:SECRET` pairs, one a line or comma-separated.
    #[arg(long, env = "IDC_SCIM_AWS_CREDENTIALS_FILE", value_name = "FILE", value_parser = credentials_file, conflicts_with = "aws_credentials")]
    pub aws_credentials_file: Option<CredentialsFile>,

    /// A fixture (JSON: users, groups and their members) to load into the default tenant at
    /// start-up when it is empty; `reset` returns the tenant to it.
    #[arg(long, env = "IDC_SCIM_SEED")]
    pub seed: Option<std::path::PathBuf>,

    /// How many requests the journal keeps per tenant (0 turns it off).
    #[arg(long, env = "IDC_SCIM_JOURNAL_SIZE", default_value_t = crate::controls::journal::DEFAULT_CAPACITY)]
    pub journal_size: usize,

    /// Throttle requests per tenant and API (SCIM, Identity Store, sso-admin) at AWS's rate
    /// (ThrottlingException, Retry-After).
    #[arg(long, env = "IDC_SCIM_THROTTLE")]
    pub throttle: bool,

    /// Throttle at this many requests per second per tenant (implies --throttle).
    #[arg(long, env = "IDC_SCIM_THROTTLE_RATE")]
    pub throttle_rate: Option<f64>,

    /// The burst the throttle allows (implies --throttle).
    #[arg(long, env = "IDC_SCIM_THROTTLE_BURST")]
    pub throttle_burst: Option<f64>,

    /// Inject a fault: `METHOD PATH ACTION [times=N] [p=P] [seed=S] [tenant=ID]`, ACTION being
    /// `status=503`, `latency=2000` (ms) or `drop`; e.g. "PATCH /Groups/* status=500 times=2".
    /// Repeatable; the environment variable takes them separated by `;`.
    #[arg(long = "fault", env = "IDC_SCIM_FAULTS", value_delimiter = ';')]
    pub faults: Vec<crate::controls::faults::FaultSpec>,

    /// `aws`: IAM Identity Center's exact rules and limits. `rfc`: the full SCIM 2.0 protocol
    /// (every filter on every attribute, sorting, startIndex paging, attributes and
    /// excludedAttributes, POST /.search, ETags, RFC error bodies) for connectors written for
    /// other SCIM providers.
    #[arg(long, env = "IDC_SCIM_PROFILE", value_parser = named_parser::<Profile>(Profile::ALL.map(|p| (p.as_str(), p.summary()))), default_value_t = Profile::Aws)]
    pub profile: Profile,

    /// Approve every sign-in (device and browser authorizations) of the default tenant at once
    /// as this user (a userName), without a browser: for CI.
    #[arg(long, env = "IDC_SCIM_SIGN_IN_AS")]
    pub sign_in_as: Option<String>,

    /// How long a request may take, in seconds, before it is answered 503.
    #[arg(long, env = "IDC_SCIM_REQUEST_TIMEOUT", default_value_t = crate::state::DEFAULT_REQUEST_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,

    /// The most connections open at once (kept below the descriptor limit). Past it, the
    /// connection idle the longest is closed; when all have a request in progress, new ones
    /// wait.
    #[arg(long, env = "IDC_SCIM_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections, value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub max_connections: usize,

    /// Seconds a client may take to send a request's headers (from the connection's start, or
    /// from the first byte of a later request) before the connection is closed.
    #[arg(long, env = "IDC_SCIM_HEADER_READ_TIMEOUT", default_value_t = Limits::default().header_read_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,

    /// Seconds a connection may stay idle between requests before it is closed.
    #[arg(long, env = "IDC_SCIM_IDLE_TIMEOUT", default_value_t = Limits::default().idle_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,

    /// Seconds a request's body may take to arrive after its headers (then 408).
    #[arg(long, env = "IDC_SCIM_BODY_READ_TIMEOUT", default_value_t = Limits::default().body_read_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout: u64,

    /// MiB of request bodies held in memory at once, all requests together; a request whose
    /// body would pass it waits for room.
    #[arg(long, env = "IDC_SCIM_MAX_BODY_MEMORY", default_value_t = Limits::default().max_body_memory / MIB, value_parser = clap::value_parser!(u64).range(1..=64 * 1024).map(|n| n as usize))]
    pub max_body_memory: usize,

    /// Seconds shutdown waits for the requests in progress before it closes their connections.
    #[arg(long, env = "IDC_SCIM_SHUTDOWN_TIMEOUT", default_value_t = Limits::default().shutdown_timeout.as_secs())]
    pub shutdown_timeout: u64,

    /// Log format.
    #[arg(long, env = "IDC_SCIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// A setting named by one of a few words (`--profile`, `--aws-auth`), each shown with its
/// summary in `--help`.
fn named_parser<T>(
    names: impl IntoIterator<Item = (&'static str, &'static str)>,
) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
{
    PossibleValuesParser::new(
        names
            .into_iter()
            .map(|(name, summary)| PossibleValue::new(name).help(summary)),
    )
    .try_map(|name| name.parse::<T>())
}

/// A mebibyte.
const MIB: usize = 1024 * 1024;

impl ServeArgs {
    /// The limits of what a client may cost, from their flags.
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            body_read_timeout: Duration::from_secs(self.body_read_timeout),
            max_body_memory: self.max_body_memory * MIB,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
        }
    }

    /// --token or --token-file.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref().or(self.token_file.as_ref())
    }

    /// --admin-token or --admin-token-file.
    pub fn admin_token(&self) -> Option<&Secret> {
        self.admin_token.as_ref().or(self.admin_token_file.as_ref())
    }

    /// --aws-credentials or --aws-credentials-file.
    pub fn aws_credentials(&self) -> impl Iterator<Item = &AwsCredential> {
        let from_file = self.aws_credentials_file.iter().flat_map(|f| &f.0);
        self.aws_credentials.iter().chain(from_file)
    }

    /// The throttle's limit: none unless asked for; AWS's unless overridden.
    pub fn throttle_limit(&self) -> Option<crate::controls::throttle::Limit> {
        use crate::controls::throttle::AWS_LIMIT;
        let on = self.throttle || self.throttle_rate.is_some() || self.throttle_burst.is_some();
        on.then(|| crate::controls::throttle::Limit {
            rate: self.throttle_rate.unwrap_or(AWS_LIMIT.rate),
            burst: self.throttle_burst.unwrap_or(AWS_LIMIT.burst),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// An AWS access key id and its secret key. `Debug` shows the id only.
#[derive(Clone)]
pub struct AwsCredential {
    pub access_key_id: String,
    pub secret: Secret,
}

impl fmt::Debug for AwsCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AwsCredential({}, ..)", self.access_key_id)
    }
}

impl std::str::FromStr for AwsCredential {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(Self {
                access_key_id: id.to_owned(),
                secret: secret.parse()?,
            }),
            _ => Err("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_owned()),
        }
    }
}

/// The content of a file that holds one value, as Docker and Kubernetes mount secrets: without
/// its final line break.
fn read_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    Ok(value.strip_suffix('\r').unwrap_or(value).to_owned())
}

fn secret_file(path: &str) -> Result<Secret, String> {
    read_file(path)?.parse()
}

/// The AWS access keys of a file (`--aws-credentials-file`).
#[derive(Debug, Clone)]
pub struct CredentialsFile(pub Vec<AwsCredential>);

fn credentials_file(path: &str) -> Result<CredentialsFile, String> {
    read_file(path)?
        .split(['\n', ','])
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map(CredentialsFile)
}

/// A secret from the command line, the environment or a file. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("must not be empty".to_owned());
        }
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn database_urls_show_no_password() {
        let shown = |url: &str| url.parse::<DatabaseUrl>().unwrap().to_string();
        assert_eq!(
            shown("postgres://app:s3cr@t@db.example:5432/idc?sslmode=require"),
            "postgres://app:****@db.example:5432/idc?sslmode=require"
        );
        assert_eq!(
            shown("postgres://app@db.example/idc"),
            "postgres://app@db.example/idc"
        );
        assert_eq!(shown("sqlite://idc-scim.db"), "sqlite://idc-scim.db");
        let debug = format!(
            "{:?}",
            "postgresql://u:pw@h/d".parse::<DatabaseUrl>().unwrap()
        );
        assert!(!debug.contains("pw"), "{debug}");
    }
}
