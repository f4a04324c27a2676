//! What the bus tests share: the Redis under test, fresh key prefixes, a port that refuses,
//! polling, and an observer of the log lines and a gauge (all from `minstrel_testkit`).

pub(crate) use minstrel_testkit::observer::{Observer, eventually};
pub(crate) use minstrel_testkit::redis::{closed_port, fresh_prefix};

/// The Redis under test (`minstrel_testkit::redis::redis_url`): the Redis bus tests must run in
/// CI.
pub(crate) fn redis_url() -> Option<String> {
    minstrel_testkit::redis::redis_url("the Redis bus tests")
}
