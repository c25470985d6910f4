//! Prints every retry preset's schedule: the wait before each attempt, the time since the
//! first attempt, and where the policy gives up.
//!
//! `cargo run -p hookwire-examples --example schedules`

use std::time::Duration;

use hookwire::retry::{PRESET_NAMES, RetryPolicy};

fn human(d: Duration) -> String {
    let s = d.as_secs();
    let ms = d.subsec_millis();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) if ms > 0 => format!("{sec}.{ms:03}s"),
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

fn main() {
    for name in PRESET_NAMES {
        let Some(policy) = RetryPolicy::preset(name) else {
            continue;
        };
        println!(
            "{name}: {} attempt(s), timeout {}, jitter {:?}",
            policy.max_attempts(),
            policy
                .timeout()
                .map_or_else(|| "dispatcher default".to_owned(), human),
            policy.jitter(),
        );
        println!(
            "  attempt  1  wait {:>9}  at {:>10}",
            "-",
            human(Duration::ZERO)
        );
        let mut at = Duration::ZERO;
        for (i, delay) in policy.schedule().iter().enumerate() {
            at += *delay;
            println!(
                "  attempt {:>2}  wait {:>9}  at {:>10}",
                i + 2,
                human(*delay),
                human(at)
            );
        }
        println!("  gives up after attempt {}\n", policy.max_attempts());
    }
}
