//! Finds a PostgreSQL server for the tests, and gives each test its own schema.
//!
//! In order: the server named by `HOOKWIRE_POSTGRES_URL`; the local server at
//! `postgres://postgres@127.0.0.1:5432/test` if one answers; a throwaway cluster started with
//! the system's `initdb`/`pg_ctl` in a temporary directory on a free port (stopped and removed
//! when the test process exits, by a watchdog that outlives it). If none works the test fails
//! with a message saying how to get a server: these tests never pass silently.
//! `HOOKWIRE_PG_FORCE_CLUSTER=1` skips the first two (to test the cluster path).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hookwire_dispatch::store::PostgresStore;

/// The local server the project's machines run.
pub(crate) const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

const HOW_TO: &str = "no PostgreSQL server for the tests. Either set \
    HOOKWIRE_POSTGRES_URL=postgres://user:password@host:port/db, or run a server on \
    127.0.0.1:5432 with user `postgres`, database `test` and trust auth, or install the server \
    binaries (`apt-get install postgresql`: initdb and pg_ctl) so the tests can start a \
    throwaway cluster";

/// The URL of the server every test of this process uses (found or started once).
pub(crate) fn url() -> &'static str {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    // Probing needs a runtime of its own: we may be called from inside a test's runtime.
    let found = URL.get_or_init(|| {
        std::thread::spawn(find)
            .join()
            .unwrap_or_else(|_| Err("the probe panicked".to_owned()))
    });
    match found {
        Ok(url) => url,
        Err(why) => panic!("{HOW_TO}.\n({why})"),
    }
}

fn find() -> Result<String, String> {
    let force_cluster = std::env::var("HOOKWIRE_PG_FORCE_CLUSTER").is_ok_and(|v| v == "1");
    if !force_cluster {
        if let Ok(url) = std::env::var("HOOKWIRE_POSTGRES_URL") {
            return match probe(&url) {
                Ok(()) => Ok(url),
                Err(e) => Err(format!("HOOKWIRE_POSTGRES_URL={url} does not answer: {e}")),
            };
        }
        if probe(LOCAL_URL).is_ok() {
            return Ok(LOCAL_URL.to_owned());
        }
    }
    start_cluster()
}

/// Connects and runs `SELECT 1`, within a few seconds.
pub(crate) fn probe(url: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let connect = tokio_postgres::connect(url, tokio_postgres::NoTls);
        let (client, conn) = tokio::time::timeout(Duration::from_secs(3), connect)
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let task = tokio::spawn(conn);
        let r = client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| e.to_string());
        drop(client);
        let _ = task.await;
        r.map(|_| ())
    })
}

/// The directory holding `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/*/bin`, else
/// wherever `PATH` has them.
fn server_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as the `postgres` user when we are root (initdb refuses to run as root).
fn as_owner(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn start_cluster() -> Result<String, String> {
    let cluster = Cluster::create()?;
    let url = cluster.url();
    // The process-wide cluster lives until the process ends (its watchdog removes it).
    std::mem::forget(cluster);
    Ok(url)
}

/// A throwaway PostgreSQL cluster in a temporary directory on a free port, started with the
/// system's `initdb`/`pg_ctl` (as the `postgres` user when we are root). Tests may stop and
/// start it; it is stopped and removed when dropped, or by a watchdog when the process ends.
#[derive(Debug)]
pub(crate) struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    root: bool,
}

impl Cluster {
    /// Creates and starts a cluster; `Err` says why not.
    pub(crate) fn create() -> Result<Self, String> {
        let bin =
            server_bin_dir().ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin or PATH")?;
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "hookwire-pg-{}-{}",
            std::process::id(),
            hookwire_dispatch::model::new_id("c")
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if root {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:").arg(&dir);
                    c
                },
                "chown",
            )?;
        }
        let mut initdb = as_owner(root, &bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb")?;
        let cluster = Self {
            port: free_port()?,
            bin,
            dir,
            data,
            root,
        };
        // Stop and remove the cluster when this process is gone, however it ends.
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {owner}{pg_ctl} -D {data} -m immediate stop; rm -rf {dir}",
            pid = std::process::id(),
            owner = if root { "runuser -u postgres -- " } else { "" },
            pg_ctl = cluster.bin.join("pg_ctl").display(),
            data = cluster.data.display(),
            dir = cluster.dir.display(),
        );
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        cluster.start()?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it answers.
    pub(crate) fn start(&self) -> Result<(), String> {
        let mut start = as_owner(self.root, &self.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                self.port,
                self.dir.display()
            ))
            .args(["-w", "-t", "30", "start"]);
        run(start, "pg_ctl start")?;
        let url = self.url();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match probe(&url) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("cluster on {}: {e}", self.port));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Stops the server at once (`-m immediate`: no checkpoint, clients cut off, crash
    /// recovery at the next start).
    pub(crate) fn stop(&self) -> Result<(), String> {
        let mut stop = as_owner(self.root, &self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        run(stop, "pg_ctl stop")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh schema name for one test.
pub(crate) fn fresh_schema() -> String {
    // new_id gives "t_" + 32 hex digits.
    format!("hwt_{}", &hookwire_dispatch::model::new_id("t")[2..18])
}

/// A store on a fresh schema of the test server, with its listener.
pub(crate) async fn store() -> (PostgresStore, SchemaGuard) {
    let schema = fresh_schema();
    let store = PostgresStore::connect_schema(url(), &schema)
        .await
        .expect("connect to the test PostgreSQL");
    let guard = SchemaGuard {
        url: url().to_owned(),
        schema,
    };
    (store, guard)
}

/// Drops its schema when the test ends (pass or fail).
#[derive(Debug)]
pub(crate) struct SchemaGuard {
    pub(crate) url: String,
    pub(crate) schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                let task = tokio::spawn(conn);
                let r = client.batch_execute(&sql).await;
                drop(client);
                let _ = task.await;
                r
            })
            .map_err(std::io::Error::other)
        })
        .join();
    }
}
