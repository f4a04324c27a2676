//! Tries a transiently failing step again: backon's exponential backoff with jitter, a few
//! attempts and a bounded total wait, so a command never hangs on a flaky server.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};
use tokio::time::Instant;

/// Attempts in all, the first one included.
pub(crate) const ATTEMPTS: usize = 3;

/// The first pause before jitter; it doubles for the next one.
const FIRST_DELAY: Duration = Duration::from_millis(250);

/// The longest pause before jitter.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// A server's `Retry-After` longer than this is not waited for: the step fails at once.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);

/// No new attempt starts once it would begin this long after the first one started.
pub(crate) const BUDGET: Duration = Duration::from_secs(5);

/// What a failed attempt says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A refusal or an answer that will not change (a 404, a private video): fail now.
    Final,
    /// A transient failure (a 5xx, a reset connection, a timeout): try again after a pause.
    Transient,
    /// The server said when to come back (`Retry-After`).
    TransientAfter(Duration),
}

/// Runs `attempt` until it succeeds, fails for good, or the attempts or the budget run out;
/// the error returned is the last attempt's.
pub(crate) async fn with_retries<T, E, F, Fut>(
    what: &str,
    mut attempt: F,
    verdict: impl Fn(&E) -> Verdict,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_max_times(ATTEMPTS - 1)
        .with_jitter()
        .build();
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let pause = match verdict(&error) {
            Verdict::Transient => pauses.next(),
            Verdict::TransientAfter(asked) if asked <= MAX_RETRY_AFTER => {
                // Never sooner than the server asked; the backoff's jitter still spreads
                // clients that were told the same time.
                pauses.next().map(|pause| pause.max(asked))
            }
            // A final failure, or a server asking for a longer wait than a command may take.
            Verdict::Final | Verdict::TransientAfter(_) => None,
        };
        let Some(pause) = pause.filter(|pause| started.elapsed() + *pause <= BUDGET) else {
            return Err(error);
        };
        tracing::debug!(what, ?pause, "a transient failure; trying again");
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Runs `with_retries` over attempts that fail with `verdicts` in turn (then succeed),
    /// returning the result, the attempts made and the time it took on the paused clock.
    async fn run(verdicts: &[Verdict]) -> (Result<(), usize>, usize, Duration) {
        let calls = AtomicUsize::new(0);
        let started = Instant::now();
        let result = with_retries(
            "test",
            || {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call < verdicts.len() {
                        Err(call)
                    } else {
                        Ok(())
                    }
                }
            },
            |call: &usize| verdicts[*call],
        )
        .await;
        (result, calls.into_inner(), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_tried_again_with_growing_pauses() {
        let (result, calls, took) = run(&[Verdict::Transient, Verdict::Transient]).await;
        assert_eq!(result, Ok(()));
        assert_eq!(calls, 3);
        // 250 ms then 500 ms, each with up to as much again of jitter.
        assert!(took >= Duration::from_millis(750), "{took:?}");
        assert!(took <= Duration::from_millis(1500), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded() {
        let (result, calls, _) = run(&[Verdict::Transient; 10]).await;
        assert_eq!(result, Err(ATTEMPTS - 1), "the last attempt's error");
        assert_eq!(calls, ATTEMPTS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_failure_is_not_tried_again() {
        let (result, calls, took) = run(&[Verdict::Final]).await;
        assert_eq!(result, Err(0));
        assert_eq!(calls, 1);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_up_to_its_cap() {
        let asked = Duration::from_millis(1800);
        let (result, calls, took) = run(&[Verdict::TransientAfter(asked)]).await;
        assert_eq!(result, Ok(()));
        assert_eq!(calls, 2);
        assert!(took >= asked, "{took:?}");
        let (result, calls, took) = run(&[Verdict::TransientAfter(Duration::from_mins(1))]).await;
        assert_eq!(result, Err(0), "a long Retry-After fails at once");
        assert_eq!(calls, 1);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn no_attempt_starts_past_the_budget() {
        let calls = AtomicUsize::new(0);
        let started = Instant::now();
        // Each attempt takes 4 s before failing: the second would start after the budget.
        let result: Result<(), ()> = with_retries(
            "test",
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(4)).await;
                    Err(())
                }
            },
            |()| Verdict::Transient,
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.into_inner(), 2);
        assert!(started.elapsed() <= BUDGET + Duration::from_secs(4));
    }
}
