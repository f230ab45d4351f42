//! `fieldbook-server`: with no flags, serves on 127.0.0.1 with a local
//! SQLite file and prints the address it listens on.

use std::net::SocketAddr;
use std::process::ExitCode;

use fieldbook_server::{start, ServerConfig, Storage};

const USAGE: &str = "usage: fieldbook-server [--listen ADDR] [--db PATH | --database-url postgres://...] [--office-token TOKEN]
  --listen ADDR          address to listen on (default 127.0.0.1:8787; port 0 picks one)
  --db PATH              SQLite file (default ./fieldbook-office.db)
  --database-url URL     PostgreSQL instead of SQLite
  --office-token TOKEN   the office API's bearer token (default: FIELDBOOK_OFFICE_TOKEN, or a new random one, printed)
  --tls-cert PEM --tls-key PEM   terminate TLS here (otherwise plain HTTP: loopback or behind a TLS proxy)";

fn parse(args: &[String]) -> Result<ServerConfig, String> {
    let mut listen: SocketAddr = "127.0.0.1:8787".parse().map_err(|_| "default address")?;
    let mut storage = Storage::Sqlite("fieldbook-office.db".into());
    let mut token = std::env::var("FIELDBOOK_OFFICE_TOKEN").ok();
    let (mut cert, mut key) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--listen" => {
                listen = value()?
                    .parse()
                    .map_err(|_| "bad --listen address".to_owned())?
            }
            "--db" => storage = Storage::Sqlite(value()?.into()),
            "--database-url" => storage = Storage::Postgres(value()?),
            "--office-token" => token = Some(value()?),
            "--tls-cert" => cert = Some(value()?.into()),
            "--tls-key" => key = Some(value()?.into()),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let office_token = match token {
        Some(t) if t.len() >= 16 => t,
        Some(_) => return Err("the office token must be at least 16 characters".into()),
        None => {
            let mut b = [0u8; 16];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
                .map_err(|_| "random source failed")?;
            let t = hex::encode(b);
            println!("office token: {t}");
            t
        }
    };
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(ServerConfig {
        listen,
        storage,
        office_token,
        tls,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(c) => c,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("fieldbook-server: {why}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let tls_on = config.tls.is_some();
    let server = match start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fieldbook-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on {}://{}",
        if tls_on { "https" } else { "http" },
        server.addr
    );
    let stop = tokio::signal::ctrl_c();
    tokio::select! {
        _ = stop => {
            eprintln!("shutting down");
            server.shutdown().await;
            ExitCode::SUCCESS
        }
    }
}
