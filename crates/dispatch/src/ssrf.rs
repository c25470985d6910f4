//! The SSRF guard: which destination addresses a webhook may reach.
//!
//! Endpoint URLs are chosen by tenants, so without a guard a tenant could make the dispatcher
//! call `http://169.254.169.254/` (cloud metadata), `http://10.0.0.5/admin` or any other
//! internal service. [`SsrfGuard`] refuses every special-purpose range (loopback, RFC 1918,
//! link-local, CGNAT, unique-local IPv6, multicast, unspecified, documentation, benchmarking,
//! reserved) including the IPv4-mapped and NAT64/6to4 IPv6 forms of those addresses.
//!
//! The guard is applied twice in the HTTP path:
//! - IP-literal URLs are checked before the request is built (the HTTP client never asks the
//!   resolver about them);
//! - names go through the guard's own `reqwest` resolver, which resolves once, drops every
//!   refused address and hands the client only vetted ones, so a DNS answer that changes
//!   between check and connect (rebinding) cannot slip through.
//!
//! An allow-list of CIDRs ([`IpCidr`]) is the only way around it (tests allow `127.0.0.0/8`).
//!
//! ```
//! use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
//! let guard = SsrfGuard::new();
//! assert!(guard.check("169.254.169.254".parse().unwrap()).is_err());
//! assert!(guard.check("93.184.216.34".parse().unwrap()).is_ok());
//! let tests = SsrfGuard::new().allow("127.0.0.0/8".parse::<IpCidr>().unwrap());
//! assert!(tests.check("127.0.0.1".parse().unwrap()).is_ok());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The special-purpose range an address belongs to, which is why it was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockedRange {
    /// `0.0.0.0/8`, `::/128`.
    Unspecified,
    /// `127.0.0.0/8`, `::1/128`.
    Loopback,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `100.64.0.0/10` (carrier-grade NAT, RFC 6598).
    SharedCgnat,
    /// `169.254.0.0/16` (including cloud metadata `169.254.169.254`), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7` (unique local IPv6, RFC 4193), deprecated site-local `fec0::/10`, local-use
    /// NAT64 `64:ff9b:1::/48`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Other IETF special-purpose or reserved space: `192.0.0.0/24`, `192.88.99.0/24`,
    /// `240.0.0.0/4`, `100::/64`, `2001::/23`, `5f00::/16`, IPv4-compatible `::/96`.
    Reserved,
}

impl BlockedRange {
    /// A short name for messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private (RFC 1918)",
            Self::SharedCgnat => "shared address space (CGNAT)",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for BlockedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the guard refused a destination.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsrfError {
    /// The address is in a refused range and not allow-listed.
    #[error("destination address {addr} is {range} and not allow-listed")]
    Blocked {
        /// The refused address.
        addr: IpAddr,
        /// Its range.
        range: BlockedRange,
    },
    /// Every address a name resolved to was refused.
    #[error("every address of {host} is refused ({first})")]
    NoAllowedAddress {
        /// The name.
        host: String,
        /// The first refusal.
        first: Box<SsrfError>,
    },
    /// The name did not resolve to any address.
    #[error("{host} did not resolve to any address")]
    NoAddress {
        /// The name.
        host: String,
    },
}

/// An IPv4 or IPv6 network in CIDR notation, for example `127.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

/// A CIDR string that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR {0:?}: expected ADDRESS/PREFIX, e.g. 127.0.0.0/8")]
pub struct InvalidCidr(String);

impl IpCidr {
    /// A network from an address and a prefix length (at most 32 for IPv4, 128 for IPv6).
    ///
    /// # Errors
    /// [`InvalidCidr`] when the prefix is too long.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, InvalidCidr> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(InvalidCidr(format!("{addr}/{prefix}")));
        }
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is inside this network (an IPv4 network never contains IPv6 addresses;
    /// pass IPv4-mapped IPv6 addresses through [`Ipv6Addr::to_canonical`] first).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(net.to_bits()) << 96,
                u128::from(ip.to_bits()) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(net.to_bits(), ip.to_bits(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = 128 - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

impl fmt::Debug for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpCidr {
    type Err = InvalidCidr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidCidr(s.to_owned());
        match s.split_once('/') {
            Some((addr, prefix)) => {
                let addr: IpAddr = addr.parse().map_err(|_| bad())?;
                let prefix: u8 = prefix.parse().map_err(|_| bad())?;
                Self::new(addr, prefix).map_err(|_| bad())
            }
            None => {
                let addr: IpAddr = s.parse().map_err(|_| bad())?;
                Self::new(addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        }
    }
}

/// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), otherwise `ip`.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// The special range `ip` belongs to, or `None` for an ordinary public unicast address.
///
/// IPv4-mapped (`::ffff:0:0/96`), NAT64 well-known (`64:ff9b::/96`) and 6to4 (`2002::/16`)
/// addresses are judged by the IPv4 address they carry.
pub(crate) fn blocked_range(ip: IpAddr) -> Option<BlockedRange> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<BlockedRange> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => BlockedRange::Unspecified,
        (10, _, _) => BlockedRange::Private,
        (100, 64..=127, _) => BlockedRange::SharedCgnat,
        (127, _, _) => BlockedRange::Loopback,
        (169, 254, _) => BlockedRange::LinkLocal,
        (172, 16..=31, _) => BlockedRange::Private,
        (192, 0, 0) => BlockedRange::Reserved,
        (192, 0, 2) => BlockedRange::Documentation,
        (192, 88, 99) => BlockedRange::Reserved,
        (192, 168, _) => BlockedRange::Private,
        (198, 18..=19, _) => BlockedRange::Benchmarking,
        (198, 51, 100) => BlockedRange::Documentation,
        (203, 0, 113) => BlockedRange::Documentation,
        (224..=239, _, _) => BlockedRange::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => BlockedRange::Broadcast,
        (240..=255, _, _) => BlockedRange::Reserved,
        _ => return None,
    })
}

fn blocked_v6(ip: Ipv6Addr) -> Option<BlockedRange> {
    if ip.is_unspecified() {
        return Some(BlockedRange::Unspecified);
    }
    if ip.is_loopback() {
        return Some(BlockedRange::Loopback);
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    let s = ip.segments();
    let bits = ip.to_bits();
    let embedded_v4 = |shift: u32| Ipv4Addr::from_bits((bits >> shift) as u32);
    Some(match s[0] {
        // ::/96 IPv4-compatible (deprecated) and the rest of ::/8 reserved space.
        0x0000 => BlockedRange::Reserved,
        // NAT64 well-known prefix: judged by the embedded IPv4 address.
        0x0064 if s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] => return blocked_v4(embedded_v4(0)),
        0x0064 if s[1] == 0xff9b && s[2] == 1 => BlockedRange::UniqueLocal,
        0x0100 if s[1..4] == [0, 0, 0] => BlockedRange::Reserved,
        0x2001 if s[1] == 0x0db8 => BlockedRange::Documentation,
        0x2001 if s[1] == 0x0002 && s[2] == 0 => BlockedRange::Benchmarking,
        // 2001::/23: IETF protocol assignments (Teredo, ORCHID, …).
        0x2001 if s[1] < 0x0200 => BlockedRange::Reserved,
        // 6to4: judged by the embedded IPv4 address (bits 16..48).
        0x2002 => return blocked_v4(embedded_v4(80)),
        0x3fff if s[1] < 0x1000 => BlockedRange::Documentation,
        0x5f00 => BlockedRange::Reserved,
        x if x & 0xfe00 == 0xfc00 => BlockedRange::UniqueLocal,
        x if x & 0xffc0 == 0xfe80 => BlockedRange::LinkLocal,
        x if x & 0xffc0 == 0xfec0 => BlockedRange::UniqueLocal,
        x if x & 0xff00 == 0xff00 => BlockedRange::Multicast,
        _ => return None,
    })
}

/// Decides which destination addresses are allowed: every public unicast address, plus
/// whatever the allow-list names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SsrfGuard {
    allow: Vec<IpCidr>,
}

impl SsrfGuard {
    /// The default guard: refuses every special range, allows nothing extra.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows every address in `cidr`, even a refused one (for example `127.0.0.0/8` in tests).
    #[must_use]
    pub fn allow(mut self, cidr: IpCidr) -> Self {
        self.allow.push(cidr);
        self
    }

    /// The allow-list.
    pub fn allow_list(&self) -> &[IpCidr] {
        &self.allow
    }

    /// Checks one address. IPv4-mapped IPv6 addresses are checked (and allow-listed) as the
    /// IPv4 address they carry.
    ///
    /// # Errors
    /// [`SsrfError::Blocked`] when `ip` is in a refused range and not allow-listed.
    pub fn check(&self, ip: IpAddr) -> Result<(), SsrfError> {
        let canon = canonical(ip);
        if self
            .allow
            .iter()
            .any(|c| c.contains(ip) || c.contains(canon))
        {
            return Ok(());
        }
        match blocked_range(canon) {
            Some(range) => Err(SsrfError::Blocked { addr: ip, range }),
            None => Ok(()),
        }
    }

    /// Keeps the allowed addresses of a resolution result.
    ///
    /// # Errors
    /// [`SsrfError::NoAddress`] for an empty list; [`SsrfError::NoAllowedAddress`] when every
    /// address is refused.
    pub fn filter(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, SsrfError> {
        let mut first = None;
        let mut kept = Vec::with_capacity(addrs.len());
        if addrs.is_empty() {
            return Err(SsrfError::NoAddress {
                host: host.to_owned(),
            });
        }
        for addr in addrs {
            match self.check(addr.ip()) {
                Ok(()) => kept.push(addr),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        match (kept.is_empty(), first) {
            (true, Some(first)) => Err(SsrfError::NoAllowedAddress {
                host: host.to_owned(),
                first: Box::new(first),
            }),
            _ => Ok(kept),
        }
    }
}

/// The name did not resolve (a marker the transport maps to a DNS outcome).
#[derive(Debug, thiserror::Error)]
#[error("name resolution failed: {0}")]
pub(crate) struct ResolveFailed(pub(crate) String);

/// How the guard's resolver turns a name into addresses before filtering them (see
/// [`DispatcherBuilder::dns_resolver`](crate::DispatcherBuilder::dns_resolver)).
pub type InnerResolver = Arc<dyn Resolve>;

/// A `reqwest` resolver that resolves each name once and passes on only the addresses the
/// [`SsrfGuard`] allows; the client connects to exactly those, so there is no second lookup.
#[derive(Clone)]
pub(crate) struct SsrfResolver {
    guard: Arc<SsrfGuard>,
    inner: Option<InnerResolver>,
}

impl fmt::Debug for SsrfResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsrfResolver")
            .field("guard", &self.guard)
            .field("inner", &self.inner.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl SsrfResolver {
    /// Resolves with the system resolver (`getaddrinfo` on a blocking thread).
    pub(crate) fn new(guard: Arc<SsrfGuard>) -> Self {
        Self { guard, inner: None }
    }

    /// Resolves with `inner` (a custom DNS client, or a fixed table in tests), then filters.
    pub(crate) fn with_inner(guard: Arc<SsrfGuard>, inner: InnerResolver) -> Self {
        Self {
            guard,
            inner: Some(inner),
        }
    }
}

impl Resolve for SsrfResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        let inner = self.inner.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = match inner {
                Some(inner) => inner
                    .resolve(name)
                    .await
                    .map_err(|e| ResolveFailed(e.to_string()))?
                    .collect(),
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await
                    .map_err(|e| ResolveFailed(e.to_string()))?
                    .collect(),
            };
            let kept = guard.filter(&host, addrs)?;
            tracing::trace!(host = %host, addrs = ?kept, "resolved (SSRF-filtered)");
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(s: &str) -> Option<BlockedRange> {
        blocked_range(s.parse().unwrap())
    }

    #[test]
    fn refuses_each_class() {
        let cases = [
            ("0.0.0.0", BlockedRange::Unspecified),
            ("0.1.2.3", BlockedRange::Unspecified),
            ("::", BlockedRange::Unspecified),
            ("127.0.0.1", BlockedRange::Loopback),
            ("127.255.255.254", BlockedRange::Loopback),
            ("::1", BlockedRange::Loopback),
            ("10.1.2.3", BlockedRange::Private),
            ("172.16.0.1", BlockedRange::Private),
            ("172.31.255.255", BlockedRange::Private),
            ("192.168.1.1", BlockedRange::Private),
            ("100.64.0.1", BlockedRange::SharedCgnat),
            ("100.127.255.255", BlockedRange::SharedCgnat),
            ("169.254.169.254", BlockedRange::LinkLocal),
            ("fe80::1", BlockedRange::LinkLocal),
            ("fc00::1", BlockedRange::UniqueLocal),
            ("fd12:3456::1", BlockedRange::UniqueLocal),
            ("fec0::1", BlockedRange::UniqueLocal),
            ("224.0.0.1", BlockedRange::Multicast),
            ("239.255.255.250", BlockedRange::Multicast),
            ("ff02::1", BlockedRange::Multicast),
            ("255.255.255.255", BlockedRange::Broadcast),
            ("240.0.0.1", BlockedRange::Reserved),
            ("192.0.0.8", BlockedRange::Reserved),
            ("192.0.2.1", BlockedRange::Documentation),
            ("198.51.100.7", BlockedRange::Documentation),
            ("203.0.113.9", BlockedRange::Documentation),
            ("2001:db8::1", BlockedRange::Documentation),
            ("3fff::1", BlockedRange::Documentation),
            ("198.18.0.1", BlockedRange::Benchmarking),
            ("198.19.255.1", BlockedRange::Benchmarking),
            ("2001:2::1", BlockedRange::Benchmarking),
            ("2001::1", BlockedRange::Reserved),
            ("100::1", BlockedRange::Reserved),
            ("::127.0.0.1", BlockedRange::Reserved),
            // IPv4 carried in IPv6 forms
            ("::ffff:127.0.0.1", BlockedRange::Loopback),
            ("::ffff:169.254.169.254", BlockedRange::LinkLocal),
            ("::ffff:10.0.0.1", BlockedRange::Private),
            ("64:ff9b::a9fe:a9fe", BlockedRange::LinkLocal),
            ("64:ff9b:1::1", BlockedRange::UniqueLocal),
            ("2002:7f00:1::", BlockedRange::Loopback),
            ("2002:c0a8:101::1", BlockedRange::Private),
        ];
        for (addr, range) in cases {
            assert_eq!(blocked(addr), Some(range), "{addr}");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(blocked(addr), None, "{addr}");
            assert!(SsrfGuard::new().check(addr.parse().unwrap()).is_ok());
        }
    }

    #[test]
    fn allow_list_is_the_only_bypass() {
        let guard = SsrfGuard::new().allow("127.0.0.0/8".parse().unwrap());
        assert!(guard.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(guard.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(guard.check("::1".parse().unwrap()).is_err());
        assert!(guard.check("10.0.0.1".parse().unwrap()).is_err());
        let v6 = SsrfGuard::new().allow("fd00::/8".parse().unwrap());
        assert!(v6.check("fd00::1".parse().unwrap()).is_ok());
        assert!(v6.check("fc00::1".parse().unwrap()).is_err());
    }

    #[test]
    fn filter_keeps_only_allowed() {
        let guard = SsrfGuard::new();
        let addrs = vec![
            "10.0.0.1:443".parse().unwrap(),
            "93.184.216.34:443".parse().unwrap(),
        ];
        assert_eq!(
            guard.filter("x", addrs).unwrap(),
            vec!["93.184.216.34:443".parse::<SocketAddr>().unwrap()]
        );
        let err = guard
            .filter("x", vec!["127.0.0.1:80".parse().unwrap()])
            .unwrap_err();
        assert!(matches!(err, SsrfError::NoAllowedAddress { .. }), "{err}");
        assert!(matches!(
            guard.filter("x", vec![]).unwrap_err(),
            SsrfError::NoAddress { .. }
        ));
    }

    #[test]
    fn cidr_parsing() {
        assert!("10.0.0.0/33".parse::<IpCidr>().is_err());
        assert!("nope/8".parse::<IpCidr>().is_err());
        assert!("::/129".parse::<IpCidr>().is_err());
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
        let one: IpCidr = "1.2.3.4".parse().unwrap();
        assert!(one.contains("1.2.3.4".parse().unwrap()));
        assert!(!one.contains("1.2.3.5".parse().unwrap()));
        assert_eq!(one.to_string(), "1.2.3.4/32");
    }

    proptest::proptest! {
        #[test]
        fn mapped_form_judged_like_v4(bits: u32) {
            let v4 = Ipv4Addr::from_bits(bits);
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            proptest::prop_assert_eq!(blocked_range(mapped), blocked_v4(v4));
            proptest::prop_assert_eq!(
                SsrfGuard::new().check(mapped).is_ok(),
                SsrfGuard::new().check(IpAddr::V4(v4)).is_ok()
            );
        }

        #[test]
        fn cidr_contains_its_network(bits: u128, prefix in 0u8..=128) {
            let c = IpCidr::new(IpAddr::V6(Ipv6Addr::from_bits(bits)), prefix).unwrap();
            proptest::prop_assert!(c.contains(IpAddr::V6(Ipv6Addr::from_bits(bits))));
        }
    }
}
