//! `hookwire`: make keys, sign and verify test payloads, listen for hooks locally, send hooks
//! through the dispatcher, inspect and repair its store, and run the demo.
//!
//! Exit codes: 0 success; 1 the operation ran and failed (signature not verified, delivery
//! not delivered, demo lost or unverified messages); 2 bad usage (unknown flag or scheme,
//! unreadable file, unusable key). Errors are one line on stderr.

mod cli;
mod deliveries;
mod demo;
mod error;
mod io;
mod keygen;
mod keys;
mod listen;
mod send;
mod serve;
mod sign;
mod time;
mod verify;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    // Safety net: a bug must still end as one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        eprintln!("hookwire: internal error: {what}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // `hookwire` or `hookwire deliveries` alone: the help, on stderr, code 2.
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) if !e.use_stderr() => {
            // Help and version: stdout, code 0.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(0));
        }
        Err(e) => {
            // Usage errors: one line on stderr (clap's first line, without its tips and
            // usage block), code 2.
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid usage");
            let message = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("hookwire: {message} (see `hookwire --help`)");
            return ExitCode::from(2);
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Keygen(args) => keygen::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Listen(args) => runtime()?.block_on(listen::run(args)),
        Command::Send(args) => runtime()?.block_on(send::run(args)),
        Command::Deliveries(args) => runtime()?.block_on(deliveries::run(args)),
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
        Command::Serve(args) => runtime()?.block_on(serve::run(args)),
    }
}

/// The tokio runtime for the commands that do network I/O.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))
}
