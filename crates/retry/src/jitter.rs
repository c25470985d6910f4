//! Jitter modes and the injected random source.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A source of uniform random numbers in `[0, 1)`, injected into
/// [`RetryPolicy::decide`](crate::RetryPolicy::decide) so tests are deterministic.
///
/// Values outside `[0, 1)` (and NaN) are clamped into it by the caller, so a faulty source
/// can never push a delay out of its band. Closures `FnMut() -> f64` implement it.
pub trait JitterSource {
    /// The next number, uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64;
}

impl<F: FnMut() -> f64> JitterSource for F {
    fn next_f64(&mut self) -> f64 {
        self()
    }
}

/// Always returns the same value: handy in tests (`Fixed(0.5)` is the middle of every band).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fixed(pub f64);

impl JitterSource for Fixed {
    fn next_f64(&mut self) -> f64 {
        self.0
    }
}

/// A small, fast, seedable PRNG (xoshiro256++ seeded through SplitMix64).
///
/// Jitter only spreads load; it protects nothing, so a non-cryptographic generator is
/// enough. Seed it from the OS with [`SeededJitter::from_entropy`], or with a fixed seed
/// for reproducible runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededJitter {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SeededJitter {
    /// A generator with a fixed seed: the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        Self {
            s: [
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
            ],
        }
    }

    /// A generator seeded from the operating system's random source (`getrandom`).
    ///
    /// # Errors
    /// [`EntropyError`] when the OS source is unavailable.
    pub fn from_entropy() -> Result<Self, EntropyError> {
        let mut buf = [0u8; 8];
        getrandom::fill(&mut buf).map_err(|_| EntropyError)?;
        Ok(Self::new(u64::from_le_bytes(buf)))
    }

    /// The next raw 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl JitterSource for SeededJitter {
    fn next_f64(&mut self) -> f64 {
        // 53 random bits -> [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 11) as f64;
        v * (1.0 / (1u64 << 53) as f64)
    }
}

/// The operating system's random source could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("operating system random source unavailable")]
pub struct EntropyError;

/// How a nominal delay is spread. Percentages are whole numbers (`20` = 20 %).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
#[non_exhaustive]
pub enum Jitter {
    /// The nominal delay, exactly.
    #[default]
    None,
    /// Uniform in `[0, d]` ("full jitter").
    Full,
    /// Uniform in `[d × (1 − p), d × (1 + p)]`; `percent` at most 100. Svix uses 20.
    Symmetric {
        /// The spread, in percent of the delay.
        percent: u32,
    },
    /// Uniform in `[d, d × (1 + p)]`: only ever adds, bounded by `percent` of the delay
    /// (Hook0's `with_jitter`). `percent` at most 1000.
    Additive {
        /// The largest addition, in percent of the delay.
        percent: u32,
    },
}

pub(crate) const MAX_SYMMETRIC_PERCENT: u32 = 100;
pub(crate) const MAX_ADDITIVE_PERCENT: u32 = 1000;

/// `d × fraction`, saturating, in nanoseconds, never panicking.
fn scale(d: Duration, fraction: f64) -> Duration {
    let nanos = d.as_nanos() as f64 * fraction;
    if nanos.is_nan() || nanos <= 0.0 {
        Duration::ZERO
    } else if nanos >= u64::MAX as f64 {
        Duration::from_nanos(u64::MAX)
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Duration::from_nanos(nanos as u64)
    }
}

fn percent_of(d: Duration, percent: u32) -> Duration {
    // Integer arithmetic so the band edges are exact.
    let nanos = d.as_nanos().saturating_mul(u128::from(percent)) / 100;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Jitter {
    /// The closed band `[low, high]` a jittered `d` always lands in.
    pub fn band(self, d: Duration) -> (Duration, Duration) {
        match self {
            Self::None => (d, d),
            Self::Full => (Duration::ZERO, d),
            Self::Symmetric { percent } => {
                let spread = percent_of(d, percent.min(MAX_SYMMETRIC_PERCENT));
                (d.saturating_sub(spread), d.saturating_add(spread))
            }
            Self::Additive { percent } => {
                let extra = percent_of(d, percent.min(MAX_ADDITIVE_PERCENT));
                (d, d.saturating_add(extra))
            }
        }
    }

    /// Spreads `d` using one draw from `rng` (none for [`Jitter::None`]). The result is
    /// always inside [`Jitter::band`].
    pub fn apply(self, d: Duration, rng: &mut dyn JitterSource) -> Duration {
        if self == Self::None {
            return d;
        }
        let (low, high) = self.band(d);
        let r = rng.next_f64();
        let r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        let out = low.saturating_add(scale(high.saturating_sub(low), r));
        out.clamp(low, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_in_range() {
        let mut a = SeededJitter::new(42);
        let mut b = SeededJitter::new(42);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x.to_bits(), b.next_f64().to_bits());
            assert!((0.0..1.0).contains(&x));
        }
        assert_ne!(SeededJitter::new(1), SeededJitter::new(2));
    }

    #[test]
    fn seeded_mean_is_about_half() {
        let mut r = SeededJitter::new(7);
        let mean: f64 = (0..10_000).map(|_| r.next_f64()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }

    #[test]
    fn entropy_seeds_differ() {
        let a = SeededJitter::from_entropy().unwrap();
        let b = SeededJitter::from_entropy().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn bands() {
        let d = Duration::from_secs(100);
        assert_eq!(Jitter::None.band(d), (d, d));
        assert_eq!(Jitter::Full.band(d), (Duration::ZERO, d));
        assert_eq!(
            Jitter::Symmetric { percent: 20 }.band(d),
            (Duration::from_secs(80), Duration::from_secs(120))
        );
        assert_eq!(
            Jitter::Additive { percent: 20 }.band(d),
            (d, Duration::from_secs(120))
        );
        let j = Jitter::Symmetric { percent: 20 };
        assert_eq!(j.apply(d, &mut Fixed(0.0)), Duration::from_secs(80));
        assert_eq!(j.apply(d, &mut Fixed(0.5)), d);
        assert_eq!(j.apply(d, &mut Fixed(f64::NAN)), Duration::from_secs(80));
        assert_eq!(j.apply(d, &mut Fixed(7.0)), Duration::from_secs(120));
        let mut closure = || 0.25;
        assert_eq!(Jitter::Full.apply(d, &mut closure), Duration::from_secs(25));
    }
}
