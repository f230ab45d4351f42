//! A throwaway PostgreSQL 15 cluster for tests: `initdb` and `pg_ctl` on a
//! temporary directory and a free port, as the `postgres` user when run as
//! root; stopped and removed on drop, even when the test fails.

use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    /// Connection URL.
    pub url: String,
}

fn run(as_postgres: bool, cmd: &str) -> Result<(), String> {
    let out = if as_postgres {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", cmd])
            .output()
    } else {
        Command::new("sh").args(["-c", cmd]).output()
    }
    .map_err(|e| format!("cannot run {cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}

impl PgCluster {
    /// Starts a cluster for tests (fsync off: tests measure nothing).
    pub fn start() -> Result<PgCluster, String> {
        Self::start_with(false)
    }

    /// Starts a cluster; `durable` keeps fsync on (for benchmarks). The
    /// PostgreSQL 15 server binaries must be installed.
    pub fn start_with(durable: bool) -> Result<PgCluster, String> {
        let bin = std::env::var("FIELDBOOK_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from("/usr/lib/postgresql/15/bin"));
        if !bin.join("initdb").exists() {
            return Err(format!(
                "PostgreSQL binaries not found in {}",
                bin.display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let d = dir.path().display().to_string();
        if is_root {
            run(false, &format!("chown postgres:postgres {d}"))?;
        }
        let port = free_port();
        let fsync = if durable { "on" } else { "off" };
        let b = bin.display();
        run(
            is_root,
            &format!(
                "{b}/initdb -D {d}/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null"
            ),
        )?;
        run(
            is_root,
            &format!(
                "{b}/pg_ctl -D {d}/data -l {d}/log -o \"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync={fsync} -c max_connections=300\" -w start >/dev/null"
            ),
        )?;
        Ok(PgCluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            as_postgres: is_root,
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let d = self.dir.path().display().to_string();
        let _ = run(
            self.as_postgres,
            &format!(
                "{}/pg_ctl -D {d}/data -m immediate -w stop >/dev/null",
                self.bin.display()
            ),
        );
    }
}
