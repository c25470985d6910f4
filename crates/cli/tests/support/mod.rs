//! Helpers shared by the end-to-end tests: run the binary, start `hookwire listen`.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_hookwire");

/// What a finished run printed and returned.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `hookwire args…` with `stdin` and waits for it.
pub(crate) fn hookwire(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading stdin (usage errors): a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A running `hookwire listen … --addr 127.0.0.1:0`, killed on drop.
pub(crate) struct Listener {
    child: Child,
    /// The address it listens on.
    pub(crate) addr: String,
    /// Its stdout, one JSON line per request.
    pub(crate) lines: std::io::Lines<BufReader<ChildStdout>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hookwire listen args… --addr 127.0.0.1:0` and reads its address from stderr.
pub(crate) fn listen(args: &[&str]) -> Listener {
    let mut child = Command::new(BIN)
        .arg("listen")
        .args(args)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    Listener { child, addr, lines }
}
