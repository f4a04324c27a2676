//! An HTTP(S) client that only reaches the public internet.
//!
//! reqwest follows no redirect by itself here: every hop is checked by this code (scheme,
//! host, every resolved address) and the request then connects to exactly the addresses that
//! were checked (`resolve_to_addrs`), so a DNS answer cannot change between check and connect.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use minstrel_app::ports::{AudioError, ResolveError};
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE};
use reqwest::{Response, StatusCode};
use url::{Host, Url};

use super::address::{HostResolver, SystemHostResolver, check};

/// Caps on what one download may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest body accepted, in bytes (default 100 MiB).
    pub max_bytes: u64,
    /// Longest track accepted when its duration is known (default 3 hours).
    pub max_duration: Duration,
    /// Time allowed for connecting and getting the response headers of one hop (default 10 s).
    pub response_timeout: Duration,
    /// Time allowed without receiving a single byte of the body (default 20 s).
    pub stall_timeout: Duration,
    /// Redirects followed before giving up (default 5).
    pub max_redirects: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_duration: Duration::from_hours(3),
            response_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(20),
            max_redirects: 5,
        }
    }
}

/// Why a download did not happen; every message is a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Refused(String),
    #[error("that is not a web link I can open: {0}")]
    BadUrl(String),
    #[error("the link led through more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("the file is larger than the {0} MiB I accept")]
    TooLarge(u64),
    #[error("the server took too long to answer")]
    Timeout,
    #[error("the server could not be reached: {0}")]
    Network(String),
}

impl From<HttpError> for ResolveError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Refused(_) | HttpError::TooLarge(_) => Self::Forbidden(error.to_string()),
            HttpError::BadUrl(_) | HttpError::TooManyRedirects(_) => {
                Self::Unsupported(error.to_string())
            }
            HttpError::Status(404 | 410) => Self::NotFound(error.to_string()),
            HttpError::Status(_) | HttpError::Timeout | HttpError::Network(_) => {
                Self::Unavailable(error.to_string())
            }
        }
    }
}

impl From<HttpError> for AudioError {
    fn from(error: HttpError) -> Self {
        Self::Io(error.to_string())
    }
}

/// A response whose hops were all checked, with what the stream reader needs to know.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) response: Response,
    /// Offset of the first body byte (non-zero only for a honoured range request).
    pub(crate) start: u64,
    /// Total size of the resource when the server said.
    pub(crate) total: Option<u64>,
    /// Whether the server takes range requests.
    pub(crate) ranges: bool,
}

/// The SSRF-safe client; cheap to clone.
#[derive(Clone)]
pub struct SafeHttpClient {
    resolver: Arc<dyn HostResolver>,
    limits: HttpLimits,
}

impl std::fmt::Debug for SafeHttpClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SafeHttpClient")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The base resolver of every reqwest client built here: it answers nothing, so only the
/// checked addresses pinned with `resolve_to_addrs` can ever be reached.
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            Err::<reqwest::dns::Addrs, _>("names are resolved and checked before connecting".into())
        })
    }
}

const USER_AGENT: &str = concat!("minstrel/", env!("CARGO_PKG_VERSION"));

impl SafeHttpClient {
    /// A client using the operating system's resolver and the public-internet rule.
    pub fn new(limits: HttpLimits) -> Self {
        Self::with_resolver(limits, Arc::new(SystemHostResolver))
    }

    /// A client resolving names through `resolver` (tests point names at their own server).
    pub fn with_resolver(limits: HttpLimits, resolver: Arc<dyn HostResolver>) -> Self {
        Self { resolver, limits }
    }

    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// Parses a user's link, accepting only http and https.
    ///
    /// # Errors
    /// [`HttpError::BadUrl`] for anything else.
    pub fn parse_url(text: &str) -> Result<Url, HttpError> {
        let url = Url::parse(text.trim()).map_err(|error| HttpError::BadUrl(error.to_string()))?;
        Self::check_scheme(&url)?;
        Ok(url)
    }

    fn check_scheme(url: &Url) -> Result<(), HttpError> {
        match url.scheme() {
            "http" | "https" => Ok(()),
            other => Err(HttpError::BadUrl(format!(
                "only http and https links are played, not {other}"
            ))),
        }
    }

    /// Checks one hop's host and builds a client pinned to its checked addresses.
    async fn client_for(&self, url: &Url) -> Result<reqwest::Client, HttpError> {
        Self::check_scheme(url)?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| HttpError::BadUrl("the link has no port".to_owned()))?;
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(NoDns))
            .connect_timeout(self.limits.response_timeout)
            .user_agent(USER_AGENT);
        let builder = match url.host() {
            None => return Err(HttpError::BadUrl("the link has no host".to_owned())),
            Some(Host::Ipv4(v4)) => {
                check(
                    &v4.to_string(),
                    SocketAddr::new(IpAddr::V4(v4), port),
                    self.resolver.as_ref(),
                )
                .map_err(HttpError::Refused)?;
                builder
            }
            Some(Host::Ipv6(v6)) => {
                check(
                    &v6.to_string(),
                    SocketAddr::new(IpAddr::V6(v6), port),
                    self.resolver.as_ref(),
                )
                .map_err(HttpError::Refused)?;
                builder
            }
            Some(Host::Domain(name)) => {
                let found = tokio::time::timeout(
                    self.limits.response_timeout,
                    self.resolver.lookup(name, port),
                )
                .await
                .map_err(|_| HttpError::Timeout)?
                .map_err(|_| HttpError::Network(format!("the host {name} was not found")))?;
                if found.is_empty() {
                    return Err(HttpError::Network(format!("the host {name} was not found")));
                }
                // Every answer must pass: one internal address among public ones is an attack.
                let mut addresses = Vec::with_capacity(found.len());
                for ip in found {
                    let address = SocketAddr::new(ip, port);
                    check(name, address, self.resolver.as_ref()).map_err(HttpError::Refused)?;
                    addresses.push(address);
                }
                builder.resolve_to_addrs(name, &addresses)
            }
        };
        builder
            .build()
            .map_err(|error| HttpError::Network(format!("the HTTP client failed: {error}")))
    }

    /// GETs `url` (from byte `from` on, when given), following at most the configured number
    /// of redirects, each one checked.
    pub(crate) async fn get(&self, url: &Url, from: Option<u64>) -> Result<Fetched, HttpError> {
        let mut current = url.clone();
        for _ in 0..=self.limits.max_redirects {
            let client = self.client_for(&current).await?;
            let mut request = client.get(current.clone());
            if let Some(from) = from {
                request = request.header(RANGE, format!("bytes={from}-"));
            }
            let response = tokio::time::timeout(self.limits.response_timeout, request.send())
                .await
                .map_err(|_| HttpError::Timeout)?
                .map_err(|error| HttpError::Network(network_reason(&error)))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or(HttpError::Status(status.as_u16()))?;
                current = current
                    .join(location)
                    .map_err(|error| HttpError::BadUrl(error.to_string()))?;
                continue;
            }
            if !status.is_success() {
                return Err(HttpError::Status(status.as_u16()));
            }
            return self.describe(response, from);
        }
        Err(HttpError::TooManyRedirects(self.limits.max_redirects))
    }

    fn describe(&self, response: Response, from: Option<u64>) -> Result<Fetched, HttpError> {
        let headers = response.headers();
        let header_number = |name| {
            headers
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .and_then(|text| text.trim().parse::<u64>().ok())
        };
        let length = header_number(CONTENT_LENGTH);
        let advertises_ranges = headers
            .get(ACCEPT_RANGES)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.eq_ignore_ascii_case("bytes"));
        let (start, total, ranges) = if response.status() == StatusCode::PARTIAL_CONTENT {
            // "bytes START-END/TOTAL"
            let range = headers
                .get(CONTENT_RANGE)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().strip_prefix("bytes "))
                .and_then(|text| text.split_once('/'))
                .and_then(|(span, total)| {
                    let start = span.split_once('-')?.0.parse::<u64>().ok()?;
                    Some((start, total.parse::<u64>().ok()))
                });
            match range {
                Some((start, total)) if Some(start) == from => (start, total, true),
                _ => {
                    return Err(HttpError::Network(
                        "the server sent a wrong range".to_owned(),
                    ));
                }
            }
        } else {
            let refuses = headers
                .get(ACCEPT_RANGES)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.eq_ignore_ascii_case("none"));
            (
                0,
                length,
                !refuses && (advertises_ranges || length.is_some()),
            )
        };
        if total.is_some_and(|total| total > self.limits.max_bytes) {
            return Err(self.too_large());
        }
        Ok(Fetched {
            response,
            start,
            total,
            ranges,
        })
    }

    pub(crate) fn too_large(&self) -> HttpError {
        HttpError::TooLarge(self.limits.max_bytes / (1024 * 1024))
    }
}

fn network_reason(error: &reqwest::Error) -> String {
    if error.is_connect() {
        "the connection failed".to_owned()
    } else if error.is_timeout() {
        "the connection timed out".to_owned()
    } else {
        "the request failed".to_owned()
    }
}
