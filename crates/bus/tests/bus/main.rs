//! The Redis Streams buses against the Redis that `MINSTREL_TEST_REDIS_URL` names (required
//! under CI), each test on streams of its own: the event bus between processes, after a crash
//! and without Redis; the command bus to a shard's owner, to the next owner, to nobody and
//! without Redis.

mod command_bus;
mod event_bus;
mod support;
