//! How long polling waits before asking Telegram for updates again after a failure.

use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};

/// The first wait after a failed `getUpdates`.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The longest wait before jitter (teloxide's own backoff stops doubling at 64 s too).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(64);
/// Failures after which the delay no longer grows: 1 s doubled six times is 64 s.
const GROWING_FAILURES: u32 = 6;

/// The wait after `failures` failed `getUpdates` in a row (0 for the first): doubling from one
/// second up to 64 s, with jitter of up to one more delay so that many bots restarted
/// together do not poll in step. teloxide calls it for each failure and resets the count once
/// updates arrive.
pub(crate) fn polling_backoff(failures: u32) -> Duration {
    let steps = usize::try_from(failures.min(GROWING_FAILURES)).unwrap_or(0);
    ExponentialBuilder::default()
        .with_min_delay(FIRST_RETRY_DELAY)
        .with_max_delay(MAX_RETRY_DELAY)
        .with_factor(2.0)
        .without_max_times()
        .with_jitter()
        .build()
        .nth(steps)
        .unwrap_or(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_a_second_up_to_64_seconds_with_jitter() {
        for (failures, base) in [(0, 1), (1, 2), (3, 8), (6, 64), (40, 64), (u32::MAX, 64)] {
            let base = Duration::from_secs(base);
            let delay = polling_backoff(failures);
            assert!(
                delay >= base && delay <= base * 2,
                "{failures} failures: {delay:?}"
            );
        }
    }

    #[test]
    fn bots_failing_together_do_not_wait_in_step() {
        let delays: Vec<Duration> = (0..20).map(|_| polling_backoff(4)).collect();
        assert!(delays.iter().any(|delay| *delay != delays[0]), "{delays:?}");
    }
}
