//! Checked conversions between domain values and column values.
//!
//! Discord ids are unsigned 64-bit in the domain and `BIGINT` (signed) in the schema; real
//! snowflakes stay far below `2^63`, but a value that does not fit is refused with a clear error
//! instead of wrapping around. Instants and durations are stored as whole milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minstrel_app::ports::StoreError;
use minstrel_domain::IdError;

/// A Discord id (or any unsigned id) as a `BIGINT` column value.
pub(crate) fn id_to_column(raw: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(raw).map_err(|_| {
        StoreError::Internal(format!(
            "{what} {raw} is larger than 2^63 - 1 and cannot be stored in a BIGINT column"
        ))
    })
}

/// A stored `BIGINT` back into a validated domain id.
pub(crate) fn id_from_column<T>(
    raw: i64,
    what: &'static str,
    new: impl FnOnce(u64) -> Result<T, IdError>,
) -> Result<T, StoreError> {
    u64::try_from(raw)
        .ok()
        .and_then(|unsigned| new(unsigned).ok())
        .ok_or_else(|| StoreError::Internal(format!("the stored {what} {raw} is not a valid id")))
}

/// Milliseconds since the Unix epoch (negative before it).
pub(crate) fn instant_to_column(time: SystemTime) -> Result<i64, StoreError> {
    let out_of_range = || StoreError::Internal(format!("the time {time:?} is out of range"));
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).map_err(|_| out_of_range()),
        Err(before) => i64::try_from(before.duration().as_millis())
            .map(|millis| -millis)
            .map_err(|_| out_of_range()),
    }
}

pub(crate) fn instant_from_column(millis: i64) -> Result<SystemTime, StoreError> {
    let offset = Duration::from_millis(millis.unsigned_abs());
    let time = if millis >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.ok_or_else(|| StoreError::Internal(format!("the stored time {millis} ms is out of range")))
}

pub(crate) fn duration_to_column(duration: Duration) -> Result<i64, StoreError> {
    i64::try_from(duration.as_millis())
        .map_err(|_| StoreError::Internal(format!("the duration {duration:?} is out of range")))
}

pub(crate) fn duration_from_column(
    millis: i64,
    what: &'static str,
) -> Result<Duration, StoreError> {
    u64::try_from(millis)
        .map(Duration::from_millis)
        .map_err(|_| StoreError::Internal(format!("the stored {what} {millis} ms is negative")))
}

/// `now` for bookkeeping columns (`updated_at_ms`, …) that no port returns.
pub(crate) fn now_column() -> i64 {
    instant_to_column(SystemTime::now()).unwrap_or(0)
}

/// An offset or limit for SQL. Both backends take signed 64-bit values, so larger requests are
/// clamped: nobody has 2^63 rows to page through.
pub(crate) fn page_bound(value: usize) -> u64 {
    const MAX: u64 = i64::MAX.unsigned_abs();
    u64::try_from(value).map_or(MAX, |value| value.min(MAX))
}

/// A small integer column (volume, queue size, index) into the domain's `usize`/`i64` world.
pub(crate) fn small_to_column(value: usize, what: &'static str) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::Internal(format!("the {what} {value} is out of range")))
}

#[cfg(test)]
mod tests {
    use minstrel_domain::GuildId;

    use super::*;

    #[test]
    fn ids_above_i64_are_refused_with_a_clear_error() {
        assert_eq!(
            id_to_column(81_384_788_765_712_384, "guild id"),
            Ok(81_384_788_765_712_384)
        );
        let error = id_to_column(u64::MAX, "guild id").unwrap_err();
        assert!(
            matches!(&error, StoreError::Internal(cause) if cause.contains("guild id 18446744073709551615")),
            "{error:?}"
        );
    }

    #[test]
    fn stored_ids_are_validated() {
        assert_eq!(
            id_from_column(5, "guild id", GuildId::new),
            Ok(GuildId::new(5).unwrap())
        );
        assert!(id_from_column(0, "guild id", GuildId::new).is_err());
        assert!(id_from_column(-5, "guild id", GuildId::new).is_err());
    }

    #[test]
    fn instants_roundtrip_in_whole_milliseconds_on_both_sides_of_the_epoch() {
        for millis in [0, 1, 1_700_000_000_123, -86_400_000] {
            let time = instant_from_column(millis).unwrap();
            assert_eq!(instant_to_column(time), Ok(millis));
        }
        let time = UNIX_EPOCH + Duration::from_micros(1_500);
        assert_eq!(
            instant_to_column(time),
            Ok(1),
            "sub-millisecond parts are dropped"
        );
    }

    #[test]
    fn durations_and_page_bounds() {
        assert_eq!(
            duration_to_column(Duration::from_millis(215_250)),
            Ok(215_250)
        );
        assert_eq!(
            duration_from_column(90_000, "idle timeout"),
            Ok(Duration::from_secs(90))
        );
        assert!(duration_from_column(-1, "idle timeout").is_err());
        assert_eq!(page_bound(10), 10);
        assert_eq!(page_bound(usize::MAX), i64::MAX.unsigned_abs());
        assert!(small_to_column(usize::MAX, "volume").is_err());
    }
}
