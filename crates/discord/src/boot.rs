//! Starting the gateway: `GET /gateway/bot` for the shard count and what is left of the
//! identify budget, asked again with backoff while the failure may pass, and the identify
//! queue built from its answer.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use tracing::warn;
use twilight_gateway::queue::InMemoryQueue;
use twilight_http::Client;
use twilight_http::error::ErrorType;
use twilight_model::gateway::SessionStartLimit;
use twilight_model::gateway::connection_info::BotConnectionInfo;

/// The first wait before asking Discord again; it doubles up to [`MAX_RETRY_DELAY`], with
/// jitter so that many processes restarted together do not ask in step.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two tries: a Discord outage ends without a restart.
const MAX_RETRY_DELAY: Duration = Duration::from_mins(1);

/// Why `GET /gateway/bot` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BootError {
    /// 401: the token is wrong or was reset; asking again cannot help.
    #[error("Discord refused the bot token (401 Unauthorized)")]
    Unauthorized,
    /// Another client error (a 4xx other than 408 and 429): the same request fails again.
    #[error("Discord refused the request with status {status}: {message}")]
    Refused { status: u16, message: String },
    /// Unreachable, timed out, a 5xx, 408 or 429, an unreadable answer: may pass.
    #[error("{0}")]
    Transient(String),
}

impl BootError {
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    fn from_http(error: &twilight_http::Error) -> Self {
        match error.kind() {
            ErrorType::Unauthorized => Self::Unauthorized,
            ErrorType::Response { status, .. } if status.get() == 401 => Self::Unauthorized,
            ErrorType::Response { status, .. }
                if status.is_client_error() && !matches!(status.get(), 408 | 429) =>
            {
                Self::Refused {
                    status: status.get(),
                    message: error.to_string(),
                }
            }
            _ => Self::Transient(error.to_string()),
        }
    }
}

/// `GET /gateway/bot`, once.
pub(crate) async fn gateway_info(http: &Client) -> Result<BotConnectionInfo, BootError> {
    let response = http
        .gateway()
        .authed()
        .await
        .map_err(|source| BootError::from_http(&source))?;
    response
        .model()
        .await
        .map_err(|source| BootError::Transient(source.to_string()))
}

/// `GET /gateway/bot` until it answers or fails for a reason that will not pass, waiting
/// longer after each transient failure. `retrying` hears of each failure with the attempt
/// number (from 1) and the wait before the next try.
pub(crate) async fn gateway_info_retrying(
    http: &Client,
    mut retrying: impl FnMut(u32, &BootError, Duration),
) -> Result<BotConnectionInfo, BootError> {
    let mut attempt = 0;
    (|| gateway_info(http))
        .retry(backoff())
        .when(BootError::is_transient)
        .notify(|error, delay| {
            attempt += 1;
            retrying(attempt, error, delay);
        })
        .await
}

fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_RETRY_DELAY)
        .with_max_delay(MAX_RETRY_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
}

/// Twilight's identify queue, started from what Discord says is left of today's identify
/// budget (1000 a day), so a process restarted in a crash loop waits for the reset instead of
/// using the budget up: twilight's default queue believes the whole budget is left at every
/// start. Either way identifies are spaced 5 s apart per concurrency bucket.
pub(crate) fn identify_queue(limit: &SessionStartLimit) -> InMemoryQueue {
    if limit.remaining == 0 {
        warn!(
            resets_in_seconds = limit.reset_after / 1000,
            "Discord's daily budget of gateway identifies is used up; connecting when it resets"
        );
    }
    InMemoryQueue::new(
        limit.max_concurrency.max(1),
        limit.remaining.min(limit.total),
        Duration::from_millis(limit.reset_after),
        limit.total,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder as _;
    use minstrel_testkit::discord::{FakeRest, RestFailure};

    /// A client of `rest` that gives up on a request after a short while.
    fn client(rest: &FakeRest) -> Client {
        Client::builder()
            .token("Bot test-token".to_owned())
            .proxy(rest.proxy_address(), true)
            .ratelimiter(None)
            .timeout(Duration::from_millis(300))
            .build()
    }

    #[tokio::test]
    async fn timeouts_and_5xx_may_pass_while_401_and_other_refusals_will_not() {
        let rest = FakeRest::start().await;
        rest.fail_next([
            RestFailure::Hang,
            RestFailure::Status(503),
            RestFailure::Status(502),
            RestFailure::Status(404),
        ]);
        let http = client(&rest);
        for _ in 0..3 {
            let error = gateway_info(&http).await.unwrap_err();
            assert!(error.is_transient(), "{error:?}");
        }
        let refused = gateway_info(&http).await.unwrap_err();
        assert!(
            matches!(refused, BootError::Refused { status: 404, .. }),
            "{refused:?}"
        );
        assert_eq!(gateway_info(&http).await.unwrap().shards, 1);

        rest.fail_next([RestFailure::Status(401)]);
        assert_eq!(
            gateway_info(&http).await.unwrap_err(),
            BootError::Unauthorized
        );
    }

    #[tokio::test]
    async fn a_request_that_times_out_is_asked_again_until_discord_answers() {
        let rest = FakeRest::start().await;
        rest.fail_next([RestFailure::Hang]);
        let mut heard = Vec::new();
        let info = gateway_info_retrying(&client(&rest), |attempt, error, delay| {
            heard.push((attempt, error.clone(), delay));
        })
        .await
        .unwrap();
        assert_eq!(info.shards, 1);
        assert_eq!(heard.len(), 1, "{heard:?}");
        assert!(heard[0].1.is_transient());
        assert!(heard[0].2 >= FIRST_RETRY_DELAY);
    }

    #[tokio::test]
    async fn a_refused_token_is_not_asked_again() {
        let rest = FakeRest::start().await;
        rest.fail_next([RestFailure::Status(401)]);
        let mut retries = 0;
        let error = gateway_info_retrying(&client(&rest), |_, _, _| retries += 1)
            .await
            .unwrap_err();
        assert_eq!(error, BootError::Unauthorized);
        assert_eq!(retries, 0);
        assert_eq!(rest.requests().len(), 1);
    }

    #[test]
    fn the_backoff_grows_to_a_minute_and_never_gives_up() {
        let delays: Vec<Duration> = backoff().build().take(40).collect();
        assert_eq!(delays.len(), 40, "it keeps trying");
        assert!(delays[0] >= FIRST_RETRY_DELAY, "{delays:?}");
        // Jitter adds up to one more delay on top.
        assert!(
            delays.iter().all(|delay| *delay <= MAX_RETRY_DELAY * 2),
            "{delays:?}"
        );
        assert!(delays[39] >= MAX_RETRY_DELAY, "{delays:?}");
    }
}
