//! The command line: subcommands, flags and scheme names (a public interface: scripts depend
//! on these names).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sign, verify, receive and send webhooks of every hookwire family.
#[derive(Debug, Parser)]
#[command(name = "hookwire", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print a new secret in the scheme's format, or (`encryption`) a dispatcher encryption key.
    Keygen(KeygenArgs),
    /// Read a body and print the signature headers to send with it.
    Sign(SignArgs),
    /// Check a captured request: prints `verified` (exit 0) or the reason (exit 1).
    Verify(VerifyArgs),
    /// Run a local receiver that verifies each request and prints one JSON line per request.
    Listen(ListenArgs),
    /// Deliver one event through the dispatcher with retries, printing each attempt.
    Send(SendArgs),
    /// Inspect and repair the embedded SQLite store of a dispatcher.
    Deliveries(DeliveriesArgs),
    /// Run the whole system on embedded defaults: local receivers, the dispatcher on SQLite,
    /// a batch of every family, retries, auto-disable, a ZITADEL execution, a summary.
    Demo(DemoArgs),
    /// Run the dispatcher and the management API in one process (SQLite `hookwire.db` and
    /// 127.0.0.1:8080 by default); prints the URL and the token of tenant `default`.
    Serve(ServeArgs),
}

/// A signature scheme, by its CLI name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemeName {
    /// ZeroTier Central: `X-ZTC-Signature: t=…,v1=…`, hex secret.
    Zerotier,
    /// Zero Trust Analytics: `X-ZTA-Signature: sha256=…`, `whsec_` secret.
    Zta,
    /// Hub Message: hex HMAC over the body; header name from the vendor console (--header-name).
    HubMessage,
    /// ZITADEL Actions v2: `ZITADEL-Signature: t=…,v1=…`.
    Zitadel,
    /// Zentitle2: `N-Signature`, RSA PKCS#1 v1.5 / SHA-256.
    Zentitle,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
    /// Stripe-style `Stripe-Signature: t=…,v1=…`.
    Stripe,
    /// GitHub-style `X-Hub-Signature-256: sha256=…`.
    Github,
}

impl SchemeName {
    /// The name as typed on the command line (and as `Scheme::from_name` reads it).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SchemeName::Zerotier => "zerotier",
            SchemeName::Zta => "zta",
            SchemeName::HubMessage => "hub-message",
            SchemeName::Zitadel => "zitadel",
            SchemeName::Zentitle => "zentitle",
            SchemeName::Standard => "standard",
            SchemeName::Stripe => "stripe",
            SchemeName::Github => "github",
        }
    }
}

/// What `hookwire keygen` makes: a scheme's secret, or an encryption key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeygenTarget {
    /// A signing secret of this scheme.
    Scheme(SchemeName),
    /// A dispatcher encryption key.
    Encryption,
}

impl ValueEnum for KeygenTarget {
    fn value_variants<'a>() -> &'a [Self] {
        use SchemeName as S;
        &[
            Self::Scheme(S::Zerotier),
            Self::Scheme(S::Zta),
            Self::Scheme(S::HubMessage),
            Self::Scheme(S::Zitadel),
            Self::Scheme(S::Zentitle),
            Self::Scheme(S::Standard),
            Self::Scheme(S::Stripe),
            Self::Scheme(S::Github),
            Self::Encryption,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        match self {
            Self::Scheme(s) => s.to_possible_value(),
            Self::Encryption => Some(PossibleValue::new("encryption")),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The scheme whose secret format to use, or `encryption` for a key that encrypts the
    /// dispatcher's endpoint secrets at rest (`hwenc1_<id>_<base64url>`; append it to a key
    /// file, newest last).
    pub(crate) scheme: KeygenTarget,
    /// The id of an `encryption` key (default: 8 random hex digits): 1 to 32 of a-z, A-Z,
    /// 0-9 and '-'.
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,
    /// Also print the public half (zentitle: SPKI PEM; standard --ed25519: `whpk_` key). With
    /// --key, print only the public half of that key.
    #[arg(long)]
    pub(crate) public: bool,
    /// standard: make an Ed25519 `whsk_` key (signatures `v1a`) instead of a `whsec_` secret.
    #[arg(long)]
    pub(crate) ed25519: bool,
    /// With --public: an existing private key file to derive the public half from.
    #[arg(
        long,
        value_name = "PEM_FILE",
        requires = "public",
        allow_hyphen_values = true
    )]
    pub(crate) key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The scheme to sign with.
    pub(crate) scheme: SchemeName,
    /// A signing secret; repeat to sign with several (one signature each).
    #[arg(long = "secret", value_name = "S", allow_hyphen_values = true)]
    pub(crate) secrets: Vec<String>,
    /// The signed timestamp in unix seconds (default: now).
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) timestamp: Option<i64>,
    /// The message id, for schemes that sign one (default: a fresh `msg_…` id).
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,
    /// The signature header's name (hub-message: from the vendor console; also overrides the
    /// header of zerotier, zta, zitadel, stripe and github).
    #[arg(long, value_name = "NAME")]
    pub(crate) header_name: Option<String>,
    /// A private key file (zentitle: PKCS#8 or PKCS#1 PEM); repeatable, combined with --secret.
    #[arg(long = "key", value_name = "PEM_FILE", allow_hyphen_values = true)]
    pub(crate) keys: Vec<PathBuf>,
    /// The body file, read as raw bytes (default or `-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) body: Option<PathBuf>,
}

/// Where the verifying keys come from (at least one is needed).
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// A verifying secret; repeat to accept any of several.
    #[arg(long = "secret", value_name = "S", allow_hyphen_values = true)]
    pub(crate) secrets: Vec<String>,
    /// A public key file (zentitle: SPKI or PKCS#1 PEM; standard: a `whpk_` key).
    #[arg(
        long = "public-key",
        value_name = "PEM_FILE",
        allow_hyphen_values = true
    )]
    pub(crate) public_keys: Vec<PathBuf>,
    /// zentitle: the account's base64url RSA modulus (exponent AQAB).
    #[arg(long = "modulus", value_name = "B64URL", allow_hyphen_values = true)]
    pub(crate) moduli: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The scheme to verify with.
    pub(crate) scheme: SchemeName,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    /// A received header as `Name: value`; repeat for each.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// The body file, read as raw bytes (default or `-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) body: Option<PathBuf>,
    /// The current time in unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) now: Option<i64>,
    /// Accepted timestamp distance in seconds, past and future (default: 300).
    #[arg(long, value_name = "SECS")]
    pub(crate) tolerance: Option<u64>,
    /// The signature header's name (see `sign --header-name`).
    #[arg(long, value_name = "NAME")]
    pub(crate) header_name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The scheme to verify with.
    pub(crate) scheme: SchemeName,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    pub(crate) addr: SocketAddr,
    /// The signature header's name (see `sign --header-name`).
    #[arg(long, value_name = "NAME")]
    pub(crate) header_name: Option<String>,
    /// Accepted timestamp distance in seconds, past and future (default: 300).
    #[arg(long, value_name = "SECS")]
    pub(crate) tolerance: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The destination URL (HTTPS; plain http only to loopback with --allow-loopback).
    pub(crate) url: String,
    /// The scheme to sign with.
    #[arg(long, value_name = "S")]
    pub(crate) scheme: SchemeName,
    /// A signing secret; repeat to sign with several.
    #[arg(long = "secret", value_name = "S", allow_hyphen_values = true)]
    pub(crate) secrets: Vec<String>,
    /// A private key file (zentitle: PKCS#8 or PKCS#1 PEM), instead of --secret.
    #[arg(long = "key", value_name = "PEM_FILE", allow_hyphen_values = true)]
    pub(crate) keys: Vec<PathBuf>,
    /// The event type (default: read from the body by the family's parser, else
    /// `hookwire.test`).
    #[arg(long, value_name = "T")]
    pub(crate) event_type: Option<String>,
    /// The body file, sent as raw bytes (default or `-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) body: Option<PathBuf>,
    /// The retry preset: zerotier, zta, zentitle-test, standard, svix, none (default: the
    /// family's).
    #[arg(long, value_name = "PRESET")]
    pub(crate) retry: Option<String>,
    /// Allow plain http to 127.0.0.0/8 (local receivers). Without it the SSRF guard refuses
    /// every private, loopback, link-local and reserved address.
    #[arg(long)]
    pub(crate) allow_loopback: bool,
    /// The signature header's name (see `sign --header-name`).
    #[arg(long, value_name = "NAME")]
    pub(crate) header_name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DeliveriesArgs {
    /// The SQLite store file (as given to `SqliteStore::open` or `demo --db`).
    #[arg(long, value_name = "FILE")]
    pub(crate) db: PathBuf,
    #[command(subcommand)]
    pub(crate) command: DeliveriesCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        /// Only this state: pending, in_flight, delivered, failed.
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// Only this endpoint.
        #[arg(long, value_name = "ID")]
        endpoint: Option<String>,
        /// At most this many.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
    },
    /// Show one delivery (`dlv_…`) or message (`msg_…`) with its attempt log.
    Show {
        /// A delivery or message id.
        id: String,
    },
    /// Put one delivered or failed delivery back in the queue, due now.
    Redeliver {
        /// The delivery id.
        id: String,
    },
    /// Re-queue every failed delivery of an endpoint created since a time.
    Recover {
        /// The endpoint id.
        #[arg(long, value_name = "ID")]
        endpoint: String,
        /// Unix seconds, RFC 3339, a date (2024-05-01) or an age (90s, 15m, 2h, 7d).
        #[arg(long, value_name = "TIME")]
        since: String,
    },
    /// Delete delivered and failed messages (with their deliveries and attempts) older than
    /// an age, in short batches, and give the space back to the file system. Messages still
    /// pending or in flight are never touched.
    Purge {
        /// An age (90s, 15m, 2h, 30d), or a point in time (unix seconds, RFC 3339, a date).
        #[arg(long, value_name = "AGE")]
        older_than: String,
    },
    /// Move every endpoint record to the newest key of the key file (plaintext records
    /// included), one transaction per batch; safe to interrupt and run again. Afterwards the
    /// older keys can be dropped from the file.
    Reencrypt {
        /// The key file: one `hookwire keygen encryption` key per line, oldest first, the
        /// newest (the one records move to) last.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Records per transaction.
        #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the SQLite store in this file (default: a temporary file, removed at the end).
    #[arg(long, value_name = "FILE")]
    pub(crate) db: Option<PathBuf>,
    /// Events sent per family.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub(crate) events: u32,
    /// Encrypt the endpoint secrets with the keys of this file (`hookwire keygen
    /// encryption`, newest last); default: a throwaway key, so a kept store (`--db`) cannot
    /// be reopened by a later run.
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// After the run, keep the receivers and the dispatcher running and serve the API and
    /// the portal (until Ctrl-C), printing the portal URL and a sign-in token per tenant.
    #[arg(long)]
    pub(crate) serve: bool,
    /// Where `--serve` listens.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        requires = "serve"
    )]
    pub(crate) addr: std::net::SocketAddr,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The SQLite store file (default: `hookwire.db` in the current directory).
    #[arg(long, value_name = "FILE", conflicts_with = "postgres")]
    pub(crate) db: Option<PathBuf>,
    /// Use the PostgreSQL store at this URL instead of SQLite.
    #[arg(long, value_name = "URL")]
    pub(crate) postgres: Option<String>,
    /// The address to listen on (default: 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,
    /// Bearer tokens, one `<token> <tenant>` per line (`#` comments); without it, tenant
    /// `default` gets a fresh token, printed at start.
    #[arg(long, value_name = "FILE")]
    pub(crate) tokens: Option<PathBuf>,
    /// Allow endpoints on plain http to 127.0.0.0/8 (local receivers). Without it the SSRF
    /// guard refuses every private, loopback, link-local and reserved address.
    #[arg(long)]
    pub(crate) allow_loopback: bool,
    /// Encrypt the endpoint secrets at rest with the keys of this file (`hookwire keygen
    /// encryption`, newest last). Without it they are stored in the clear, and a store that
    /// holds encrypted records is refused.
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
}
