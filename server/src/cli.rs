//! The `fieldbook-server` command line: `serve` (the default when no
//! subcommand is given), `enrolment-code`, `migrate`, `verify-pack` and
//! `evidence-key`.
//!
//! Secrets never travel on the command line, where other local users can
//! read them (`ps`, shell history): the office token comes from the
//! `FIELDBOOK_OFFICE_TOKEN` environment variable or from a file readable
//! by its owner only, and a generated token is written to such a file,
//! never printed. A PostgreSQL URL with a password belongs in
//! `FIELDBOOK_DATABASE_URL` for the same reason.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::{start, ServerConfig, Storage};

/// Environment variable holding the office API's bearer token.
pub const TOKEN_ENV: &str = "FIELDBOOK_OFFICE_TOKEN";
/// Shortest office token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

const SECRETS_HELP: &str = "Secrets:
  The office token is read from FIELDBOOK_OFFICE_TOKEN, else from the file
  given by --office-token-file (owner-only permissions). When neither holds
  one, `serve` generates a token and writes it to that file with mode 0600;
  it is never printed. Put a PostgreSQL URL with a password in
  FIELDBOOK_DATABASE_URL rather than on the command line.";

/// Fieldbook's office sync server.
#[derive(Debug, Parser)]
#[command(
    name = "fieldbook-server",
    version,
    about = "Fieldbook's office sync server: device enrolment, signed push and pull, the office API.",
    after_help = SECRETS_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, the options of `serve`.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    #[command(after_help = SECRETS_HELP)]
    Serve(Box<ServeArgs>),
    /// Issue a one-time enrolment code (72 hours) for an officer; prints the
    /// code, which the officer types into the app. Only its hash is stored.
    EnrolmentCode(CodeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(StorageArgs),
    /// Create an office console administrator (every team). The password
    /// comes from FIELDBOOK_ADMIN_PASSWORD, else a new one is generated and
    /// printed once; there is no default password.
    CreateAdmin(AdminArgs),
    /// Check an evidence pack offline (no server, no network): the office's
    /// signature, every device signature and chain link, revocations, the
    /// statements and the PDF's text. Prints the verdict; exits 0 only
    /// when everything verified.
    VerifyPack(VerifyArgs),
    /// Print the office's public evidence key (hex), generating the key
    /// file (mode 0600) when missing; verifiers pin this key.
    EvidenceKey(EvidenceKeyArgs),
}

/// Options of `verify-pack`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The pack's bundle (JSON).
    #[arg(long, value_name = "PATH")]
    bundle: PathBuf,
    /// The pack's PDF, to check its text against the events.
    #[arg(long, value_name = "PATH")]
    pdf: Option<PathBuf>,
    /// The office's public evidence key (hex) to pin.
    #[arg(long, value_name = "HEX")]
    office_key: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `evidence-key`.
#[derive(Debug, Clone, Args)]
pub struct EvidenceKeyArgs {
    /// The evidence signing key file (as `serve` finds it: by default
    /// beside the SQLite database).
    #[arg(long, value_name = "PATH", env = "FIELDBOOK_EVIDENCE_KEY_FILE")]
    evidence_key_file: Option<PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
}

/// Options of `create-admin`.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Sign-in name.
    #[arg(long, value_name = "NAME")]
    username: String,
    /// Full name shown in the console.
    #[arg(long, value_name = "TEXT", default_value = "Administrator")]
    name: String,
    #[command(flatten)]
    storage: StorageArgs,
}

/// Environment variable holding a new administrator's password.
pub const ADMIN_PASSWORD_ENV: &str = "FIELDBOOK_ADMIN_PASSWORD";
/// Environment variable holding the OIDC client secret.
pub const OIDC_SECRET_ENV: &str = "FIELDBOOK_OIDC_CLIENT_SECRET";

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// SQLite database file (the default storage).
    #[arg(
        long,
        value_name = "PATH",
        env = "FIELDBOOK_DB",
        default_value = "fieldbook-office.db"
    )]
    db: PathBuf,
    /// PostgreSQL instead of SQLite (postgres://…); takes precedence over --db.
    #[arg(
        long,
        value_name = "URL",
        env = "FIELDBOOK_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

impl StorageArgs {
    fn storage(&self) -> Storage {
        match &self.database_url {
            Some(url) if !url.is_empty() => Storage::Postgres(url.clone()),
            _ => Storage::Sqlite(self.db.clone()),
        }
    }
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(
        long,
        value_name = "ADDR",
        env = "FIELDBOOK_LISTEN",
        default_value = "127.0.0.1:8787"
    )]
    listen: SocketAddr,
    #[command(flatten)]
    storage: StorageArgs,
    /// File holding the office token (when FIELDBOOK_OFFICE_TOKEN is unset);
    /// created with a new token, mode 0600, when missing.
    #[arg(
        long,
        value_name = "PATH",
        env = "FIELDBOOK_OFFICE_TOKEN_FILE",
        default_value = "fieldbook-office.token"
    )]
    office_token_file: PathBuf,
    /// Certificate chain (PEM) to terminate TLS here; otherwise plain HTTP,
    /// for loopback or behind a TLS proxy.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Plain HTTP on a non-loopback address is refused unless this says a
    /// TLS-terminating proxy is in front (devices and the office token
    /// would otherwise cross the network in the clear).
    #[arg(long, env = "FIELDBOOK_BEHIND_TLS_PROXY")]
    behind_tls_proxy: bool,
    /// File holding the /metrics scrape credential (when
    /// FIELDBOOK_METRICS_TOKEN is unset; owner-only). Without either,
    /// /metrics refuses every scrape.
    #[arg(long, value_name = "PATH", env = "FIELDBOOK_METRICS_TOKEN_FILE")]
    metrics_token_file: Option<PathBuf>,
    /// Enrolment attempts allowed per minute from one client address.
    #[arg(long, value_name = "N", env = "FIELDBOOK_ENROLMENTS_PER_MINUTE", default_value_t = crate::limits::Limits::default().enrolments_per_minute)]
    enrolments_per_minute: u32,
    /// Requests allowed per second from one client address (burst: 5 s worth).
    #[arg(long, value_name = "N", env = "FIELDBOOK_REQUESTS_PER_SECOND", default_value_t = crate::limits::Limits::default().per_address_per_second)]
    requests_per_second: u32,
    /// govuk-frontend's `dist/govuk` folder (npm package govuk-frontend) for
    /// the console's look; without it a built-in plain stylesheet is used.
    #[arg(long, value_name = "DIR", env = "FIELDBOOK_CONSOLE_ASSETS")]
    console_assets: Option<PathBuf>,
    /// A console session ends after this many seconds without a request.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "FIELDBOOK_CONSOLE_IDLE_SECONDS",
        default_value_t = 1800
    )]
    console_idle_seconds: i64,
    /// A console session ends this many seconds after sign-in.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "FIELDBOOK_CONSOLE_MAX_SECONDS",
        default_value_t = 43_200
    )]
    console_max_seconds: i64,
    /// Single sign-on: the OpenID Connect issuer (its discovery document is
    /// read at sign-in). The client secret, if any, comes from
    /// FIELDBOOK_OIDC_CLIENT_SECRET.
    #[arg(long, value_name = "URL", env = "FIELDBOOK_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_redirect_url"])]
    oidc_issuer: Option<String>,
    /// Single sign-on: this service's client id at the provider.
    #[arg(
        long,
        value_name = "ID",
        env = "FIELDBOOK_OIDC_CLIENT_ID",
        requires = "oidc_issuer"
    )]
    oidc_client_id: Option<String>,
    /// Single sign-on: the registered callback, `https://HOST/console/sign-in/oidc/callback`.
    #[arg(
        long,
        value_name = "URL",
        env = "FIELDBOOK_OIDC_REDIRECT_URL",
        requires = "oidc_issuer"
    )]
    oidc_redirect_url: Option<String>,
    #[command(flatten)]
    safety: SafetyArgs,
    #[command(flatten)]
    delivery: DeliveryArgs,
    /// File holding the office's evidence signing key (Ed25519, owner-only);
    /// created, mode 0600, when missing. Default: `fieldbook-evidence.key`
    /// beside the SQLite database; with PostgreSQL, give every instance the
    /// same file (without one, packs are signed with a key held in memory).
    #[arg(long, value_name = "PATH", env = "FIELDBOOK_EVIDENCE_KEY_FILE")]
    evidence_key_file: Option<PathBuf>,
}

/// Delivery of outcomes to the Community Payback API.
#[derive(Debug, Clone, clap::Args)]
pub struct DeliveryArgs {
    /// The Community Payback API's base URL (without it, outcomes wait in
    /// the delivery outbox).
    #[arg(long, value_name = "URL", env = "FIELDBOOK_CP_BASE_URL")]
    cp_base_url: Option<String>,
    /// The authorisation server's token URL (OAuth2 client credentials).
    #[arg(
        long,
        value_name = "URL",
        env = "FIELDBOOK_CP_TOKEN_URL",
        requires = "cp_base_url"
    )]
    cp_token_url: Option<String>,
    /// The OAuth2 client id.
    #[arg(
        long,
        value_name = "ID",
        env = "FIELDBOOK_CP_CLIENT_ID",
        requires = "cp_base_url"
    )]
    cp_client_id: Option<String>,
    /// File holding the OAuth2 client secret (when FIELDBOOK_CP_CLIENT_SECRET
    /// is unset; owner-only).
    #[arg(long, value_name = "PATH", env = "FIELDBOOK_CP_CLIENT_SECRET_FILE")]
    cp_client_secret_file: Option<PathBuf>,
    /// Where home-visit contacts go (without it they are not delivered).
    #[arg(long, value_name = "URL", env = "FIELDBOOK_CP_CONTACTS_URL")]
    cp_contacts_url: Option<String>,
    /// The far end's enforcement action code for a step, as
    /// `warning_or_referral=CODE` or `breach_referral=CODE` (repeatable).
    #[arg(long = "cp-enforcement-action", value_name = "STEP=CODE")]
    cp_enforcement_actions: Vec<String>,
    /// Link this supervising team's appointments to nDelius's from the
    /// Community Payback API every hour (today and the next
    /// --cp-import-days days).
    #[arg(long, value_name = "TEAM", env = "FIELDBOOK_CP_IMPORT_TEAM")]
    cp_import_team: Option<String>,
    /// See --cp-import-team.
    #[arg(
        long,
        value_name = "DAYS",
        env = "FIELDBOOK_CP_IMPORT_DAYS",
        default_value_t = 7
    )]
    cp_import_days: i64,
    /// On the --cp-import-team schedule, import that team's projects,
    /// sessions, allocations and people from the Community Payback API
    /// too, not only the links (people need a requirement loaded by CSV
    /// first: the API carries no order dates or risk level).
    #[arg(long, env = "FIELDBOOK_CP_IMPORT_REFERENCE")]
    cp_import_reference: bool,
    /// How often the delivery worker looks (milliseconds).
    #[arg(
        long,
        value_name = "MS",
        env = "FIELDBOOK_CP_TICK_MS",
        default_value_t = 1_000
    )]
    cp_tick_ms: u64,
}

/// Environment variable holding the OAuth2 client secret.
pub const CP_SECRET_ENV: &str = "FIELDBOOK_CP_CLIENT_SECRET";

impl DeliveryArgs {
    /// The delivery configuration these flags describe (`None` when no
    /// base URL is given).
    pub fn config(
        &self,
        secret_env: Option<String>,
    ) -> Result<Option<crate::delivery::worker::DeliveryConfig>, String> {
        let Some(base) = &self.cp_base_url else {
            return Ok(None);
        };
        let url_ok =
            |u: &str| reqwest::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
        if !url_ok(base) {
            return Err("--cp-base-url must be an http(s) URL".into());
        }
        let token_url = self
            .cp_token_url
            .clone()
            .filter(|u| url_ok(u))
            .ok_or("--cp-token-url (an http(s) URL) is needed with --cp-base-url")?;
        let client_id = self
            .cp_client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or("--cp-client-id is needed with --cp-base-url")?;
        let secret = match secret_env.filter(|s| !s.is_empty()) {
            Some(s) => s,
            None => {
                let file = self.cp_client_secret_file.as_deref().ok_or_else(|| {
                    format!("the OAuth2 client secret is needed: set {CP_SECRET_ENV} or --cp-client-secret-file")
                })?;
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read the client secret file: {}", e.kind()))?;
                refuse_shared(file)?;
                text.trim().to_owned()
            }
        };
        let mut config =
            crate::delivery::worker::DeliveryConfig::new(base, &token_url, &client_id, &secret);
        if let Some(c) = &self.cp_contacts_url {
            if !url_ok(c) {
                return Err("--cp-contacts-url must be an http(s) URL".into());
            }
            config.contacts_url = Some(c.clone());
        }
        for pair in &self.cp_enforcement_actions {
            let (step, code) = pair
                .split_once('=')
                .ok_or("--cp-enforcement-action takes STEP=CODE")?;
            if !matches!(step, "warning_or_referral" | "breach_referral") || code.is_empty() {
                return Err("--cp-enforcement-action: the step is warning_or_referral or breach_referral, with a code".into());
            }
            config
                .enforcement_actions
                .insert(step.to_owned(), code.to_owned());
        }
        config.tick_ms = self.cp_tick_ms.clamp(10, 60_000);
        config.import_team = self.cp_import_team.clone();
        config.import_days = self.cp_import_days.clamp(0, 31);
        config.import_reference = self.cp_import_reference;
        Ok(Some(config))
    }
}

/// The lone-worker safety clock and where its notices go.
#[derive(Debug, Clone, clap::Args)]
pub struct SafetyArgs {
    /// Minutes after a visit's expected finish before the office marks it
    /// overdue.
    #[arg(
        long,
        value_name = "MIN",
        env = "FIELDBOOK_SAFETY_GRACE_MINUTES",
        default_value_t = 15
    )]
    safety_grace_minutes: i64,
    /// Minutes overdue before the office escalates.
    #[arg(
        long,
        value_name = "MIN",
        env = "FIELDBOOK_SAFETY_ESCALATE_MINUTES",
        default_value_t = 15
    )]
    safety_escalate_minutes: i64,
    /// How often the office's clock looks (milliseconds).
    #[arg(
        long,
        value_name = "MS",
        env = "FIELDBOOK_SAFETY_TICK_MS",
        default_value_t = 5_000
    )]
    safety_tick_ms: u64,
    /// First retry delay after a failed notice delivery (milliseconds;
    /// doubles each attempt, at most 5 minutes).
    #[arg(
        long,
        value_name = "MS",
        env = "FIELDBOOK_SAFETY_RETRY_MS",
        default_value_t = 5_000
    )]
    safety_retry_ms: i64,
    /// A webhook that receives signed safety notices (repeat for several;
    /// an email or SMS gateway sits behind one).
    #[arg(
        long = "safety-webhook",
        value_name = "URL",
        env = "FIELDBOOK_SAFETY_WEBHOOKS",
        value_delimiter = ','
    )]
    safety_webhooks: Vec<String>,
    /// File holding the webhook signing secret (when
    /// FIELDBOOK_SAFETY_WEBHOOK_SECRET is unset; owner-only).
    #[arg(
        long,
        value_name = "PATH",
        env = "FIELDBOOK_SAFETY_WEBHOOK_SECRET_FILE"
    )]
    safety_webhook_secret_file: Option<PathBuf>,
    /// TESTS ONLY: the safety clock runs this many milliseconds (read from
    /// the file at every reading) ahead of the system clock.
    #[arg(
        long,
        value_name = "PATH",
        hide = true,
        env = "FIELDBOOK_TEST_SAFETY_CLOCK_OFFSET_FILE"
    )]
    test_safety_clock_offset_file: Option<PathBuf>,
}

/// Environment variable holding the safety webhook signing secret.
pub const WEBHOOK_SECRET_ENV: &str = "FIELDBOOK_SAFETY_WEBHOOK_SECRET";

impl SafetyArgs {
    /// The safety configuration these flags describe.
    pub fn config(
        &self,
        secret_env: Option<String>,
    ) -> Result<crate::safety::timer::SafetyConfig, String> {
        use crate::safety::timer::SafetyConfig;
        for (name, v) in [
            ("--safety-grace-minutes", self.safety_grace_minutes),
            ("--safety-escalate-minutes", self.safety_escalate_minutes),
        ] {
            if !(0..=24 * 60).contains(&v) {
                return Err(format!("{name} must be 0 to 1440"));
            }
        }
        let mut config = SafetyConfig {
            periods: crate::safety::Periods {
                grace_ms: self.safety_grace_minutes * 60_000,
                escalate_ms: self.safety_escalate_minutes * 60_000,
            },
            tick_ms: self.safety_tick_ms.clamp(10, 60_000),
            retry_base_ms: self.safety_retry_ms.clamp(10, 300_000),
            ..SafetyConfig::default()
        };
        if !self.safety_webhooks.is_empty() {
            let secret = match secret_env.filter(|s| !s.is_empty()) {
                Some(s) => s,
                None => {
                    let file = self.safety_webhook_secret_file.as_deref().ok_or_else(|| {
                        format!("--safety-webhook needs a signing secret: set {WEBHOOK_SECRET_ENV} or --safety-webhook-secret-file")
                    })?;
                    let text = std::fs::read_to_string(file).map_err(|e| {
                        format!("cannot read the webhook secret file: {}", e.kind())
                    })?;
                    refuse_shared(file)?;
                    text.trim().to_owned()
                }
            };
            for url in &self.safety_webhooks {
                let hook = crate::safety::notify::Webhook::new(url, secret.as_bytes())?;
                config.notifiers.push(std::sync::Arc::new(hook));
            }
        }
        if let Some(file) = &self.test_safety_clock_offset_file {
            eprintln!(
                "fieldbook-server: WARNING: the safety clock runs on a TEST offset file ({}); never use this in service",
                file.display()
            );
            config.clock = std::sync::Arc::new(crate::safety::clock::OffsetFileClock(file.clone()));
        }
        Ok(config)
    }
}

/// Environment variable holding the /metrics scrape credential.
pub const METRICS_TOKEN_ENV: &str = "FIELDBOOK_METRICS_TOKEN";

/// Refuses plain HTTP on an address other hosts can reach, unless a TLS
/// proxy is declared in front.
pub fn check_listen(listen: SocketAddr, tls: bool, behind_tls_proxy: bool) -> Result<(), String> {
    if tls || behind_tls_proxy || listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "refusing plain HTTP on {listen}, which is not loopback: give --tls-cert and \
             --tls-key, or --behind-tls-proxy when a TLS proxy terminates in front"
        ))
    }
}

/// The metrics credential: the environment value, else the file's
/// content (owner-only), else none.
fn metrics_token(env_value: Option<String>, file: Option<&Path>) -> Result<Option<String>, String> {
    let check = |t: String| {
        if t.len() < MIN_TOKEN_LEN {
            Err(format!(
                "the metrics token must be at least {MIN_TOKEN_LEN} characters"
            ))
        } else {
            Ok(Some(t))
        }
    };
    if let Some(t) = env_value.filter(|t| !t.is_empty()) {
        return check(t);
    }
    let Some(file) = file else { return Ok(None) };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the metrics token file: {}", e.kind()))?;
    refuse_shared(file)?;
    check(text.trim().to_owned())
}

/// Options of `enrolment-code`.
#[derive(Debug, Clone, Args)]
pub struct CodeArgs {
    /// The officer the device will belong to.
    #[arg(long, value_name = "ID")]
    officer: String,
    #[command(flatten)]
    storage: StorageArgs,
}

/// Where the office token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The environment variable.
    Env,
    /// An existing file.
    File,
    /// Generated now and written to the file.
    Generated,
}

/// Finds the office token: the environment value if set, else the file's
/// content, else a new random token written to the file (owner-only).
pub fn office_token(
    env_value: Option<String>,
    file: &Path,
) -> Result<(String, TokenSource), String> {
    let check = |t: String, source| {
        if t.len() < MIN_TOKEN_LEN {
            Err(format!(
                "the office token must be at least {MIN_TOKEN_LEN} characters"
            ))
        } else {
            Ok((t, source))
        }
    };
    if let Some(t) = env_value.filter(|t| !t.is_empty()) {
        return check(t, TokenSource::Env);
    }
    match std::fs::read_to_string(file) {
        Ok(text) => {
            refuse_shared(file)?;
            check(text.trim().to_owned(), TokenSource::File)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = [0u8; 24];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
                .map_err(|_| "the random source failed".to_owned())?;
            let token = hex::encode(b);
            write_private(file, &token)
                .map_err(|e| format!("cannot write the office token file: {e}"))?;
            Ok((token, TokenSource::Generated))
        }
        Err(e) => Err(format!("cannot read the office token file: {e}")),
    }
}

#[cfg(unix)]
fn refuse_shared(file: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)
        .map_err(|e| format!("cannot read the office token file: {e}"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the office token file {} is readable by others (mode {:o}); chmod 600 it",
            file.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_file: &Path) -> Result<(), String> {
    Ok(())
}

fn write_private(file: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    // create_new: never overwrite a token someone else just wrote.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(file)?;
    f.write_all(token.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// Parses the command line and runs the command; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fieldbook-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            None => serve(cli.serve).await,
            Some(Command::Serve(args)) => serve(*args).await,
            Some(Command::EnrolmentCode(args)) => enrolment_code(args).await,
            Some(Command::Migrate(args)) => migrate(args).await,
            Some(Command::CreateAdmin(args)) => create_admin(args).await,
            Some(Command::VerifyPack(args)) => verify_pack(args),
            Some(Command::EvidenceKey(args)) => evidence_key(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("fieldbook-server: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let (office_token, source) =
        office_token(std::env::var(TOKEN_ENV).ok(), &args.office_token_file)?;
    if source == TokenSource::Generated {
        // stderr: the first stdout line is the address, which callers read.
        eprintln!(
            "fieldbook-server: a new office token was written to {} (mode 0600)",
            args.office_token_file.display()
        );
    }
    let tls = args.tls_cert.zip(args.tls_key);
    let tls_on = tls.is_some();
    check_listen(args.listen, tls_on, args.behind_tls_proxy)?;
    let metrics_token = metrics_token(
        std::env::var(METRICS_TOKEN_ENV).ok(),
        args.metrics_token_file.as_deref(),
    )?;
    let safety = args.safety.config(std::env::var(WEBHOOK_SECRET_ENV).ok())?;
    let delivery = args.delivery.config(std::env::var(CP_SECRET_ENV).ok())?;
    let stop = stop_signal();
    let limits = crate::limits::Limits {
        enrolments_per_minute: args.enrolments_per_minute,
        per_address_per_second: args.requests_per_second,
        trust_forwarded_for: args.behind_tls_proxy,
        ..crate::limits::Limits::default()
    };
    if args.console_idle_seconds < 1 || args.console_max_seconds < args.console_idle_seconds {
        return Err(
            "--console-idle-seconds must be at least 1 and at most --console-max-seconds".into(),
        );
    }
    let oidc = match (
        args.oidc_issuer,
        args.oidc_client_id,
        args.oidc_redirect_url,
    ) {
        (Some(issuer), Some(client_id), Some(redirect_url)) => Some(crate::console::OidcConfig {
            issuer,
            client_id,
            client_secret: std::env::var(OIDC_SECRET_ENV)
                .ok()
                .filter(|s| !s.is_empty()),
            redirect_url,
        }),
        _ => None,
    };
    let console = crate::console::ConsoleConfig {
        assets_dir: args.console_assets,
        secure_cookies: tls_on || args.behind_tls_proxy,
        idle_timeout_ms: args.console_idle_seconds.saturating_mul(1000),
        absolute_timeout_ms: args.console_max_seconds.saturating_mul(1000),
        oidc,
        ..crate::console::ConsoleConfig::default()
    };
    let server = start(ServerConfig {
        tls,
        metrics_token,
        limits,
        console,
        safety,
        delivery,
        evidence_key_file: evidence_key_file(args.evidence_key_file, &args.storage.storage()),
        ..ServerConfig::new(args.listen, args.storage.storage(), office_token)
    })
    .await
    .map_err(|e| format!("cannot start: {e}"))?;
    println!(
        "listening on {}://{}",
        if tls_on { "https" } else { "http" },
        server.addr
    );
    stop.await;
    eprintln!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (what service managers and `kill` send). The
/// handlers are installed when this is called, so call it before telling
/// anyone the server is up: a signal sent right after would otherwise
/// kill the process without a clean shutdown.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn open(storage: &StorageArgs) -> Result<crate::db::Db, String> {
    crate::db::Db::open(&storage.storage())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))
}

async fn enrolment_code(args: CodeArgs) -> Result<(), String> {
    let db = open(&args.storage).await?;
    let issued = crate::office::issue_enrolment_code(&db, &args.officer)
        .await
        .map_err(|e| e.to_string())?;
    let expires = chrono::DateTime::from_timestamp_millis(issued.expires_ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    println!("{}", issued.code);
    eprintln!("one-time enrolment code; expires {expires}");
    Ok(())
}

async fn create_admin(args: AdminArgs) -> Result<(), String> {
    use crate::console::accounts;
    let db = open(&args.storage).await?;
    let (password, generated) = match std::env::var(ADMIN_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => {
            let mut b = [0u8; 15];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
                .map_err(|_| "the random source failed".to_owned())?;
            (
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b),
                true,
            )
        }
    };
    let account = accounts::create(
        &db,
        accounts::NewAccount {
            username: args.username,
            display_name: args.name,
            role: accounts::Role::Administrator,
            teams: vec!["*".into()],
            password: Some(password.clone()),
        },
        crate::api::now_ms(),
    )
    .await
    .map_err(|e| format!("cannot create the administrator: {e}"))?;
    crate::console::audit::record(
        &db,
        "cli:create-admin",
        crate::console::audit::Action::Security,
        "account created",
        &account.username,
        "administrator",
    )
    .await
    .map_err(|e| format!("cannot write the audit log: {e}"))?;
    if generated {
        println!("{password}");
        eprintln!(
            "administrator {} created; the password above is shown only now",
            account.username
        );
    } else {
        eprintln!(
            "administrator {} created with the password from {ADMIN_PASSWORD_ENV}",
            account.username
        );
    }
    Ok(())
}

/// The evidence key file: as given, else beside the SQLite database; none
/// for PostgreSQL unless given (instances must share one key).
pub fn evidence_key_file(given: Option<PathBuf>, storage: &Storage) -> Option<PathBuf> {
    given.or_else(|| match storage {
        Storage::Sqlite(db) => Some(db.with_file_name("fieldbook-evidence.key")),
        Storage::Postgres(_) => None,
    })
}

fn verify_pack(args: VerifyArgs) -> Result<(), String> {
    let read = |p: &Path, what: &str| {
        std::fs::read(p).map_err(|e| format!("cannot read the {what}: {}", e.kind()))
    };
    let bundle = read(&args.bundle, "bundle")?;
    let pdf = args.pdf.as_deref().map(|p| read(p, "PDF")).transpose()?;
    let verdict =
        crate::evidence::verify::verify(&bundle, pdf.as_deref(), args.office_key.as_deref());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict).map_err(|_| "cannot encode the verdict")?
        );
    } else {
        print!("{}", verdict.render());
    }
    if verdict.verified {
        Ok(())
    } else {
        Err("the pack did not verify".into())
    }
}

fn evidence_key(args: EvidenceKeyArgs) -> Result<(), String> {
    let file = evidence_key_file(args.evidence_key_file, &args.storage.storage())
        .ok_or("with PostgreSQL, name the key file with --evidence-key-file")?;
    let (key, generated) = crate::evidence::OfficeKey::load_or_create(&file)?;
    if generated {
        eprintln!(
            "a new evidence key was written to {} (mode 0600)",
            file.display()
        );
    }
    println!("{}", key.public_hex());
    Ok(())
}

async fn migrate(args: StorageArgs) -> Result<(), String> {
    open(&args).await?;
    println!("schema is up to date");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fieldbook-server").chain(args.iter().copied()))
    }

    #[test]
    fn safety_flags_are_checked() {
        let cfg = |args: &[&str], secret: Option<&str>| {
            parse(args)
                .expect("parse")
                .serve
                .safety
                .config(secret.map(str::to_owned))
        };
        let c = cfg(
            &[
                "--safety-grace-minutes",
                "10",
                "--safety-escalate-minutes",
                "5",
            ],
            None,
        )
        .expect("valid");
        assert_eq!(
            (c.periods.grace_ms, c.periods.escalate_ms),
            (600_000, 300_000)
        );
        assert!(c.notifiers.is_empty());
        assert!(cfg(&["--safety-grace-minutes=2000"], None).is_err());
        let hook = ["--safety-webhook", "https://alarm.example/hook"];
        let e = cfg(&hook, None).expect_err("a webhook needs a secret");
        assert!(e.contains(WEBHOOK_SECRET_ENV), "{e}");
        assert!(cfg(&hook, Some("short")).is_err(), "secret too short");
        let c = cfg(&hook, Some("a-long-enough-webhook-secret")).expect("valid");
        assert_eq!(c.notifiers.len(), 1);
        assert!(cfg(
            &["--safety-webhook", "not a url"],
            Some("a-long-enough-webhook-secret")
        )
        .is_err());
    }

    #[test]
    fn serve_is_the_default_and_takes_the_old_flags() {
        let cli = parse(&["--listen", "127.0.0.1:0", "--db", "x.db"]).expect("parse");
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.listen.port(), 0);
        assert_eq!(cli.serve.storage.storage(), Storage::Sqlite("x.db".into()));
        let cli = parse(&["serve", "--database-url", "postgres://h/db"]).expect("parse");
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve expected")
        };
        assert_eq!(
            args.storage.storage(),
            Storage::Postgres("postgres://h/db".into())
        );
    }

    #[test]
    fn plain_http_off_loopback_needs_a_declared_tls_proxy() {
        let any: SocketAddr = "0.0.0.0:8787".parse().expect("addr");
        let lan: SocketAddr = "192.0.2.7:8787".parse().expect("addr");
        let lo: SocketAddr = "127.0.0.1:8787".parse().expect("addr");
        let lo6: SocketAddr = "[::1]:8787".parse().expect("addr");
        assert!(check_listen(any, false, false).is_err());
        assert!(check_listen(lan, false, false).is_err());
        assert!(check_listen(lo, false, false).is_ok());
        assert!(check_listen(lo6, false, false).is_ok());
        assert!(check_listen(any, true, false).is_ok());
        assert!(check_listen(any, false, true).is_ok());
        let cli = parse(&["--listen", "0.0.0.0:1", "--behind-tls-proxy"]).expect("parse");
        assert!(cli.serve.behind_tls_proxy);
        assert!(parse(&["--metrics-token", "0123456789abcdef0123"]).is_err());
    }

    #[test]
    fn secrets_are_not_taken_on_the_command_line() {
        assert!(parse(&["--office-token", "0123456789abcdef0123"]).is_err());
        assert!(parse(&["serve", "--office-token", "0123456789abcdef0123"]).is_err());
    }

    #[test]
    fn tls_options_go_together_and_subcommands_parse() {
        assert!(parse(&["--tls-cert", "c.pem"]).is_err());
        assert!(parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).is_ok());
        assert!(matches!(
            parse(&["enrolment-code", "--officer", "sup-1", "--db", "x.db"])
                .expect("parse")
                .command,
            Some(Command::EnrolmentCode(_))
        ));
        assert!(parse(&["enrolment-code"]).is_err(), "--officer is required");
        assert!(matches!(
            parse(&["migrate"]).expect("parse").command,
            Some(Command::Migrate(_))
        ));
        for sub in [
            &["--help"][..],
            &["serve", "--help"],
            &["enrolment-code", "--help"],
            &["migrate", "--help"],
        ] {
            let e = parse(sub).expect_err("help exits");
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        }
    }

    #[test]
    fn evidence_commands_parse_and_the_key_file_sits_beside_the_database() {
        assert!(parse(&[
            "verify-pack",
            "--bundle",
            "b.json",
            "--pdf",
            "p.pdf",
            "--office-key",
            "ab"
        ])
        .is_ok());
        assert!(parse(&["verify-pack"]).is_err(), "the bundle is required");
        assert!(parse(&["evidence-key", "--evidence-key-file", "k"]).is_ok());
        let db = Storage::Sqlite(PathBuf::from("/var/lib/fieldbook/office.db"));
        assert_eq!(
            evidence_key_file(None, &db),
            Some(PathBuf::from("/var/lib/fieldbook/fieldbook-evidence.key"))
        );
        assert_eq!(
            evidence_key_file(Some("k".into()), &db),
            Some(PathBuf::from("k"))
        );
        assert_eq!(
            evidence_key_file(None, &Storage::Postgres("postgres://x".into())),
            None
        );
    }

    #[test]
    fn the_token_comes_from_the_environment_or_a_private_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("token");
        let long = "0123456789abcdef-env".to_owned();
        assert_eq!(
            office_token(Some(long.clone()), &file).expect("env"),
            (long, TokenSource::Env)
        );
        assert!(!file.exists(), "an environment token writes nothing");
        assert!(office_token(Some("short".into()), &file).is_err());
        let (generated, source) = office_token(None, &file).expect("generated");
        assert_eq!(source, TokenSource::Generated);
        assert!(generated.len() >= MIN_TOKEN_LEN);
        let (again, source) = office_token(None, &file).expect("read back");
        assert_eq!(
            (again.as_str(), source),
            (generated.as_str(), TokenSource::File)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let err = office_token(None, &file).expect_err("shared file refused");
            assert!(err.contains("readable by others"), "{err}");
            assert!(!err.contains(&generated), "the error never shows the token");
        }
    }
}
