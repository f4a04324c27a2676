//! An HTTP(S) client that only reaches the public internet.
//!
//! One reqwest client serves every download. Its DNS resolver ([`PublicOnlyDns`]) judges
//! every address of every name before reqwest may connect, and its redirect policy checks each
//! hop (scheme, count, IP-literal hosts) before reqwest follows it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use minstrel_app::ports::{AudioError, ResolveError};
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use url::{Host, Url};

use super::address::{HostResolver, PublicOnlyDns, SystemHostResolver, check};
use crate::retry::{Verdict, with_retries};

/// Caps on what one download may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest body accepted, in bytes (default 100 MiB).
    pub max_bytes: u64,
    /// Longest track accepted when its duration is known (default 3 hours).
    pub max_duration: Duration,
    /// Time allowed for resolving a name, for connecting, and per hop for getting the response
    /// headers (default 10 s).
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

/// The SSRF-safe client; cheap to clone (every clone shares one reqwest client and its
/// connection pool).
#[derive(Clone)]
pub struct SafeHttpClient {
    client: reqwest::Client,
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

const USER_AGENT: &str = concat!("minstrel/", env!("CARGO_PKG_VERSION"));

impl SafeHttpClient {
    /// A client using the operating system's resolver and the public-internet rule.
    pub fn new(limits: HttpLimits) -> Self {
        Self::with_resolver(limits, Arc::new(SystemHostResolver))
    }

    /// A client resolving names through `resolver` (tests point names at their own server).
    ///
    /// # Panics
    /// When reqwest cannot set up TLS, as `reqwest::Client::new` does.
    pub fn with_resolver(limits: HttpLimits, resolver: Arc<dyn HostResolver>) -> Self {
        let redirects = {
            let resolver = Arc::clone(&resolver);
            let max_redirects = limits.max_redirects;
            reqwest::redirect::Policy::custom(move |attempt| {
                // `previous` holds the link and every hop followed so far.
                if attempt.previous().len() > max_redirects {
                    return attempt.error(HttpError::TooManyRedirects(max_redirects));
                }
                match check_hop(attempt.url(), resolver.as_ref()) {
                    Ok(()) => attempt.follow(),
                    Err(error) => attempt.error(error),
                }
            })
        };
        let client = reqwest::Client::builder()
            .redirect(redirects)
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnlyDns::new(
                Arc::clone(&resolver),
                limits.response_timeout,
            )))
            .connect_timeout(limits.response_timeout)
            .user_agent(USER_AGENT)
            .build()
            .expect("the HTTP client builds");
        Self {
            client,
            resolver,
            limits,
        }
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
        check_scheme(&url)?;
        Ok(url)
    }

    /// GETs `url` (from byte `from` on, when given), following at most the configured number
    /// of redirects, each one checked. A transient failure (a 5xx, a 408 or 429, a connection
    /// that failed, broke or timed out) is tried again with backoff ([`crate::retry`]); a
    /// refusal, a 404 and the like fail at once.
    pub(crate) async fn get(&self, url: &Url, from: Option<u64>) -> Result<Fetched, HttpError> {
        with_retries(
            "an HTTP request",
            || self.get_once(url, from),
            |failure: &Failure| failure.verdict,
        )
        .await
        .map_err(|failure| failure.error)
    }

    async fn get_once(&self, url: &Url, from: Option<u64>) -> Result<Fetched, Failure> {
        check_hop(url, self.resolver.as_ref()).map_err(Failure::last)?;
        let mut request = self.client.get(url.clone());
        if let Some(from) = from {
            request = request.header(RANGE, format!("bytes={from}-"));
        }
        // Each hop may spend the response timeout on its answer.
        let hops = u32::try_from(self.limits.max_redirects + 1).unwrap_or(u32::MAX);
        let response = tokio::time::timeout(
            self.limits.response_timeout.saturating_mul(hops),
            request.send(),
        )
        .await
        .map_err(|_| Failure::transient(HttpError::Timeout))?
        .map_err(|error| failure(&error))?;
        let status = response.status();
        if status.is_redirection() {
            // A redirect reqwest did not take: its target is no http(s) URL it could follow.
            if let Some(location) = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
            {
                let next = response
                    .url()
                    .join(location)
                    .map_err(|error| Failure::last(HttpError::BadUrl(error.to_string())))?;
                check_hop(&next, self.resolver.as_ref()).map_err(Failure::last)?;
            }
        }
        if !status.is_success() {
            return Err(Failure::of_status(&response));
        }
        self.describe(response, from).map_err(Failure::last)
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

fn check_scheme(url: &Url) -> Result<(), HttpError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(HttpError::BadUrl(format!(
            "only http and https links are played, not {other}"
        ))),
    }
}

/// Checks what can be judged of a hop before reqwest takes it: the scheme, and the address
/// when the host is an IP literal (reqwest connects to those without asking the resolver;
/// names are judged by [`PublicOnlyDns`]).
fn check_hop(url: &Url, resolver: &dyn HostResolver) -> Result<(), HttpError> {
    check_scheme(url)?;
    if url.port_or_known_default().is_none() {
        return Err(HttpError::BadUrl("the link has no port".to_owned()));
    }
    let address = match url.host() {
        None => return Err(HttpError::BadUrl("the link has no host".to_owned())),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    check(&address.to_string(), address, resolver).map_err(HttpError::Refused)
}

/// One failed attempt at a request, and whether another may do better.
#[derive(Debug)]
struct Failure {
    error: HttpError,
    verdict: Verdict,
}

impl Failure {
    fn last(error: HttpError) -> Self {
        Self {
            error,
            verdict: Verdict::Final,
        }
    }

    fn transient(error: HttpError) -> Self {
        Self {
            error,
            verdict: Verdict::Transient,
        }
    }

    /// A 5xx, 408 or 429 may pass (after the `Retry-After` seconds, when given); any other
    /// status will not.
    fn of_status(response: &Response) -> Self {
        let status = response.status();
        let error = HttpError::Status(status.as_u16());
        let passing = status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS;
        if !passing {
            return Self::last(error);
        }
        // Only the delay-seconds form; an HTTP date falls back to the backoff's own pause.
        let asked = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Self {
            error,
            verdict: asked.map_or(Verdict::Transient, Verdict::TransientAfter),
        }
    }
}

/// Why reqwest failed, as a sentence: a refusal of the redirect policy or the resolver as it
/// was made (final, except a resolver that timed out), anything else by its kind (a connection
/// that failed, broke or timed out: transient).
fn failure(error: &reqwest::Error) -> Failure {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<HttpError>() {
            return match refusal {
                HttpError::Timeout => Failure::transient(HttpError::Timeout),
                other => Failure::last(other.clone()),
            };
        }
        source = cause.source();
    }
    Failure::transient(HttpError::Network(network_reason(error)))
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
