//! [`MemoryReplayGuard`]: the bounded in-process guard.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{ReplayGuard, ReplayStoreError};

/// An in-process [`ReplayGuard`]: at most `capacity` keys, each kept for its TTL.
///
/// Expired keys are dropped before every insert, whatever their TTL and wherever they sit in
/// insertion order (an expiry-ordered heap makes this O(log n) per expired key). Only when
/// the guard is still full of live keys is the oldest-inserted live key evicted (a message
/// evicted early could be replayed; size the capacity above your peak message rate times the
/// tolerance window).
/// The state lives in this process only: several receiver processes behind a load balancer
/// need a shared store behind the trait instead.
pub struct MemoryReplayGuard {
    capacity: usize,
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    /// Key → expiry.
    seen: HashMap<String, Instant>,
    /// Keys in insertion order with the expiry they were inserted with; entries whose expiry
    /// no longer matches `seen` are stale and skipped.
    order: VecDeque<(Instant, String)>,
    /// The same entries ordered by expiry (soonest first), so expired keys are found wherever
    /// they were inserted; stale entries are skipped as in `order`.
    expiries: BinaryHeap<Reverse<(Instant, String)>>,
}

impl MemoryReplayGuard {
    /// A guard that remembers at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(MemoryState::default()),
        }
    }

    /// How many keys are remembered now (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The maximum number of keys.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // The state is consistent after every statement, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The synchronous core of [`ReplayGuard::check_and_record`], at a given instant.
    pub(crate) fn record_at(&self, key: &str, ttl: Duration, now: Instant) -> bool {
        let mut state = self.lock();
        state.sweep(now);
        if state.seen.get(key).is_some_and(|&expiry| expiry > now) {
            return false;
        }
        while state.seen.len() >= self.capacity {
            if !state.evict_oldest() {
                break;
            }
        }
        let expiry = now
            .checked_add(ttl)
            .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
            .unwrap_or(now);
        state.seen.insert(key.to_owned(), expiry);
        state.order.push_back((expiry, key.to_owned()));
        state.expiries.push(Reverse((expiry, key.to_owned())));
        if state.order.len() > self.capacity.saturating_mul(2)
            || state.expiries.len() > self.capacity.saturating_mul(2)
        {
            state.compact();
        }
        true
    }
}

impl MemoryState {
    /// Drops every expired entry, soonest expiry first (whatever its insertion position).
    /// Their `order` entries become stale and are skipped or compacted later.
    fn sweep(&mut self, now: Instant) {
        while let Some(Reverse((expiry, _))) = self.expiries.peek() {
            if *expiry > now {
                break;
            }
            if let Some(Reverse((expiry, key))) = self.expiries.pop() {
                self.remove_if_current(&key, expiry);
            }
        }
        // The front of the insertion queue is usually expired too; drop it cheaply.
        while let Some((expiry, key)) = self.order.front() {
            if *expiry > now && self.seen.get(key.as_str()) == Some(expiry) {
                break;
            }
            self.order.pop_front();
        }
    }

    /// Removes the oldest live entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((expiry, key)) = self.order.pop_front() {
            if self.remove_if_current(&key, expiry) {
                return true;
            }
        }
        false
    }

    fn remove_if_current(&mut self, key: &str, expiry: Instant) -> bool {
        if self.seen.get(key) == Some(&expiry) {
            self.seen.remove(key);
            true
        } else {
            false
        }
    }

    /// Drops stale queue and heap entries (expired, forgotten or re-inserted keys).
    fn compact(&mut self) {
        let seen = &self.seen;
        self.order
            .retain(|(expiry, key)| seen.get(key.as_str()) == Some(expiry));
        self.expiries
            .retain(|Reverse((expiry, key))| seen.get(key.as_str()) == Some(expiry));
    }
}

#[async_trait]
impl ReplayGuard for MemoryReplayGuard {
    async fn check_and_record(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
        Ok(self.record_at(key, ttl, Instant::now()))
    }

    async fn forget(&self, key: &str) -> Result<(), ReplayStoreError> {
        self.lock().seen.remove(key);
        Ok(())
    }
}

impl fmt::Debug for MemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayGuard")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for MemoryReplayGuard {
    /// Capacity 100 000 keys (a few MiB at most).
    fn default() -> Self {
        Self::new(100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn second_sight_is_a_replay_until_expiry() {
        let guard = MemoryReplayGuard::new(10);
        let t0 = Instant::now();
        assert!(guard.record_at("a", TTL, t0));
        assert!(!guard.record_at("a", TTL, t0 + Duration::from_secs(9)));
        assert!(guard.record_at("a", TTL, t0 + Duration::from_secs(10)));
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn capacity_evicts_oldest_first() {
        let guard = MemoryReplayGuard::new(3);
        let t0 = Instant::now();
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(guard.record_at(k, TTL, t0 + Duration::from_millis(i as u64)));
        }
        assert_eq!(guard.len(), 3);
        // "a" was evicted, the others are still remembered.
        assert!(!guard.record_at("b", TTL, t0));
        assert!(!guard.record_at("d", TTL, t0));
        assert!(guard.record_at("a", TTL, t0));
    }

    /// Mixed TTLs: keys that expired behind a longer-lived key inserted earlier are dropped
    /// first, so the live key is not evicted while expired ones remain.
    #[test]
    fn full_guard_drops_expired_keys_anywhere_before_a_live_one() {
        let guard = MemoryReplayGuard::new(3);
        let t0 = Instant::now();
        assert!(guard.record_at("long", Duration::from_secs(100), t0));
        assert!(guard.record_at("short1", Duration::from_secs(1), t0));
        assert!(guard.record_at("short2", Duration::from_secs(1), t0));
        assert_eq!(guard.len(), 3);
        // At t0+5 s the guard is full, "long" is oldest and live, the two short keys expired.
        let t5 = t0 + Duration::from_secs(5);
        assert!(guard.record_at("new", TTL, t5));
        assert_eq!(
            guard.len(),
            2,
            "both expired keys swept, nothing live evicted"
        );
        assert!(!guard.record_at("long", Duration::from_secs(100), t5));
        assert!(!guard.record_at("new", TTL, t5));
        // Still full of live keys: the oldest live insert ("long") is the one evicted.
        assert!(guard.record_at("x", TTL, t5));
        assert!(guard.record_at("y", TTL, t5));
        assert_eq!(guard.len(), 3);
        assert!(!guard.record_at("new", TTL, t5));
        assert!(!guard.record_at("y", TTL, t5));
        assert!(guard.record_at("long", Duration::from_secs(100), t5));
    }

    #[tokio::test]
    async fn forget_lets_the_key_through_again() {
        let guard = MemoryReplayGuard::new(3);
        assert!(guard.check_and_record("k", TTL).await.unwrap());
        assert!(!guard.check_and_record("k", TTL).await.unwrap());
        guard.forget("k").await.unwrap();
        assert!(guard.check_and_record("k", TTL).await.unwrap());
    }

    proptest::proptest! {
        #[test]
        fn never_exceeds_capacity(cap in 1usize..8, ops in proptest::collection::vec((0u8..12, 0u64..30, proptest::bool::ANY), 0..200)) {
            let guard = MemoryReplayGuard::new(cap);
            let t0 = Instant::now();
            let mut clock = 0u64;
            for (key, step, forget) in ops {
                clock += step;
                let key = key.to_string();
                if forget {
                    guard.lock().seen.remove(&key);
                } else {
                    guard.record_at(&key, TTL, t0 + Duration::from_secs(clock));
                }
                let state = guard.lock();
                proptest::prop_assert!(state.seen.len() <= cap);
                proptest::prop_assert!(state.order.len() <= cap * 2 + 1);
                proptest::prop_assert!(state.expiries.len() <= cap * 2 + 1);
            }
        }
    }
}
