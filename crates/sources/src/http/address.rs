//! Which addresses an outgoing request may reach.
//!
//! A link a user pastes must never make the bot talk to itself, its host, the cloud metadata
//! service or anything on a private network (SSRF). Names are resolved here, through an
//! injectable [`HostResolver`] wrapped in reqwest's DNS resolver ([`PublicOnlyDns`]), and every
//! address is judged before anything connects to it; IP literals, which reqwest connects to
//! without asking a resolver, are judged by [`check`] before each hop.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::client::HttpError;

/// Turns a host name into addresses; injectable so tests can point names at their own server.
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// The addresses of `host` (a name, never an IP literal).
    ///
    /// # Errors
    /// When the name does not resolve.
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>>;

    /// Whether this resolver lets the client reach `address` as `host` (the link's host as
    /// written: a name or an IP literal) although the public-internet rule refuses it. Only
    /// test resolvers say yes, and only for their own name of their own local server: the
    /// exemption belongs to the pair, so any other name that resolves (or is rebound) to the
    /// same address is still refused. The address has no port: reqwest's resolver, where names
    /// are judged, is not told the port.
    fn permits(&self, host: &str, address: IpAddr) -> bool {
        let _ = (host, address);
        false
    }
}

/// The operating system's resolver; it permits nothing beyond the public internet.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHostResolver;

#[async_trait]
impl HostResolver for SystemHostResolver {
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>> {
        let addresses = tokio::net::lookup_host((host, port)).await?;
        Ok(addresses.map(|address| address.ip()).collect())
    }
}

/// Why an address is not reachable from a user's link, or `None` when it is public.
pub fn forbidden_reason(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [first, second, third, _] = address.octets();
    if address.is_loopback() {
        Some("a loopback address")
    } else if address.is_unspecified() || first == 0 {
        Some("an unspecified address")
    } else if address.is_private() {
        Some("a private network address")
    } else if address.is_link_local() {
        Some("a link-local address")
    } else if first == 100 && (64..128).contains(&second) {
        Some("a carrier-grade NAT address")
    } else if address.is_multicast() {
        Some("a multicast address")
    } else if address.is_broadcast()
        || first >= 240
        || (first == 192 && second == 0 && (third == 0 || third == 2))
        || (first == 198 && (second == 18 || second == 19))
        || (first == 198 && second == 51 && third == 100)
        || (first == 203 && second == 0 && third == 113)
    {
        Some("a reserved address")
    } else {
        None
    }
}

fn forbidden_v6(address: Ipv6Addr) -> Option<&'static str> {
    let segments = address.segments();
    if address.is_loopback() {
        Some("a loopback address")
    } else if address.is_unspecified() {
        Some("an unspecified address")
    } else if address.to_ipv4_mapped().is_some() {
        // Refused whatever v4 address it carries: a mapped address has no business in a URL.
        Some("an IPv4-mapped address")
    } else if segments[..6] == [0; 6] {
        Some("an IPv4-compatible address")
    } else if segments[0] == 0x64 && segments[1] == 0xff9b {
        Some("a NAT64 address")
    } else if segments[0] == 0x2002 {
        Some("a 6to4 address")
    } else if segments[0] == 0x2001 && segments[1] == 0 {
        Some("a Teredo address")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("a documentation address")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("a private network address")
    } else if segments[0] & 0xffc0 == 0xfe80 || segments[0] & 0xffc0 == 0xfec0 {
        Some("a link-local address")
    } else if address.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// Checks `address`, reached as `host`, against the public-internet rule and the resolver's
/// permits.
///
/// # Errors
/// A sentence naming what kind of address was refused.
pub(crate) fn check(
    host: &str,
    address: IpAddr,
    resolver: &dyn HostResolver,
) -> Result<(), String> {
    match forbidden_reason(address) {
        Some(_) if resolver.permits(host, address) => Ok(()),
        Some(reason) => Err(format!(
            "that link points to {reason}, which I am not allowed to reach"
        )),
        None => Ok(()),
    }
}

/// The DNS resolver of the one reqwest client: names go through the [`HostResolver`] and every
/// answer is judged before reqwest may connect to it. One refused answer refuses the name (one
/// internal address among public ones is an attack), and reqwest connects only to the
/// addresses returned here, so an answer cannot change between the check and the connection.
pub(crate) struct PublicOnlyDns {
    resolver: Arc<dyn HostResolver>,
    /// Longest wait for a name's addresses.
    timeout: Duration,
}

impl PublicOnlyDns {
    pub(crate) fn new(resolver: Arc<dyn HostResolver>, timeout: Duration) -> Self {
        Self { resolver, timeout }
    }

    /// The addresses of `host`, every one of them allowed.
    pub(crate) async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, HttpError> {
        let not_found = || HttpError::Network(format!("the host {host} was not found"));
        let found = tokio::time::timeout(self.timeout, self.resolver.lookup(host, 0))
            .await
            .map_err(|_| HttpError::Timeout)?
            .map_err(|_| not_found())?;
        if found.is_empty() {
            return Err(not_found());
        }
        for address in &found {
            check(host, *address, self.resolver.as_ref()).map_err(HttpError::Refused)?;
        }
        Ok(found)
    }
}

impl reqwest::dns::Resolve for PublicOnlyDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = Self::new(Arc::clone(&self.resolver), self.timeout);
        Box::pin(async move {
            let found = dns.lookup(name.as_str()).await?;
            // Port 0: hyper puts the link's port in.
            let addresses: reqwest::dns::Addrs =
                Box::new(found.into_iter().map(|address| SocketAddr::new(address, 0)));
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        forbidden_reason(text.parse().unwrap()).is_some()
    }

    #[test]
    fn refuses_internal_v4_ranges() {
        for address in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
        ] {
            assert!(refused(address), "{address}");
        }
    }

    #[test]
    fn allows_public_v4_even_next_to_internal_ranges() {
        for address in [
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "8.8.8.8",
        ] {
            assert!(!refused(address), "{address}");
        }
    }

    #[test]
    fn refuses_internal_v6_ranges() {
        for address in [
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(refused(address), "{address}");
        }
        assert!(!refused("2606:4700:4700::1111"));
    }

    /// Names from a table; permits exactly one (name, address) pair.
    struct Permits(&'static str, IpAddr, Vec<(&'static str, Vec<IpAddr>)>);

    #[async_trait]
    impl HostResolver for Permits {
        async fn lookup(&self, host: &str, _: u16) -> io::Result<Vec<IpAddr>> {
            Ok(self
                .2
                .iter()
                .find(|(name, _)| *name == host)
                .map(|(_, addresses)| addresses.clone())
                .unwrap_or_default())
        }
        fn permits(&self, host: &str, address: IpAddr) -> bool {
            host == self.0 && address == self.1
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_resolver_may_permit_its_own_server_under_its_own_name_only() {
        let server = ip("127.0.0.1");
        let resolver = Permits("audio.test", server, Vec::new());
        assert!(check("audio.test", server, &resolver).is_ok());
        let message = check("audio.test", ip("127.0.0.2"), &resolver).unwrap_err();
        assert!(message.contains("loopback"), "{message}");
        let message = check("evil.test", server, &resolver).unwrap_err();
        assert!(message.contains("loopback"), "{message}");
        assert!(check("127.0.0.1", server, &resolver).is_err());
        assert!(check("10.0.0.1", ip("10.0.0.1"), &SystemHostResolver).is_err());
    }

    /// What reqwest gets from the resolver for `name`: the addresses, or the error it carries.
    async fn resolve(dns: &PublicOnlyDns, name: &str) -> Result<Vec<SocketAddr>, HttpError> {
        use reqwest::dns::Resolve as _;
        match dns.resolve(name.parse().unwrap()).await {
            Ok(addresses) => Ok(addresses.collect()),
            Err(error) => Err(error
                .downcast_ref::<HttpError>()
                .expect("the resolver fails with an HttpError")
                .clone()),
        }
    }

    #[tokio::test]
    async fn reqwest_gets_only_allowed_addresses_of_a_name() {
        let names = vec![
            ("audio.test", vec![ip("127.0.0.1")]),
            ("public.test", vec![ip("93.184.216.34")]),
            ("rebound.test", vec![ip("127.0.0.1")]),
            ("mixed.test", vec![ip("93.184.216.34"), ip("10.0.0.7")]),
            ("metadata.test", vec![ip("169.254.169.254")]),
            ("empty.test", Vec::new()),
        ];
        let resolver = Arc::new(Permits("audio.test", ip("127.0.0.1"), names));
        let dns = PublicOnlyDns::new(resolver, Duration::from_secs(5));
        assert_eq!(
            resolve(&dns, "audio.test").await,
            Ok(vec!["127.0.0.1:0".parse().unwrap()])
        );
        assert_eq!(
            resolve(&dns, "public.test").await,
            Ok(vec!["93.184.216.34:0".parse().unwrap()])
        );
        for name in ["rebound.test", "mixed.test", "metadata.test"] {
            match resolve(&dns, name).await {
                Err(HttpError::Refused(message)) => {
                    assert!(
                        message.contains("not allowed to reach"),
                        "{name}: {message}"
                    );
                }
                other => panic!("{name}: expected a refusal, got {other:?}"),
            }
        }
        assert!(matches!(
            resolve(&dns, "empty.test").await,
            Err(HttpError::Network(message)) if message.contains("empty.test was not found")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_name_that_never_resolves_times_out() {
        struct Silent;
        #[async_trait]
        impl HostResolver for Silent {
            async fn lookup(&self, _: &str, _: u16) -> io::Result<Vec<IpAddr>> {
                std::future::pending().await
            }
        }
        let dns = PublicOnlyDns::new(Arc::new(Silent), Duration::from_secs(5));
        assert_eq!(resolve(&dns, "slow.test").await, Err(HttpError::Timeout));
    }
}
