//! minstrel's message buses over Redis Streams: [`RedisEventBus`] carries domain events between
//! processes (the `EventBus` port; design in its module), delivering locally whether or not
//! Redis answers; [`RedisCommandBus`] carries guild commands to the process that owns the
//! guild's shard and their replies back (the `CommandBus` port; design in its module).
//!
//! The Redis calls are the redis crate's typed stream commands and replies (`redis::streams`:
//! `XADD … MAXLEN ~`, `XREAD`/`XREADGROUP` options, `XAUTOCLAIM`), each with a deadline; a
//! reader that lost Redis tries again after backon's jittered exponential pause.
//!
//! This crate knows the domain, the ports, the serde forms of minstrel-wire and Redis only: no
//! presentation (twilight, teloxide, console), no other adapter technology (sea-orm, moka,
//! songbird, symphonia). Adapter errors become [`minstrel_app::ports::CacheError`] or
//! [`minstrel_app::CommandError`] before they cross the port, and a service URL's password
//! never appears in an error or a log line.

mod command_bus;
mod event_bus;
mod redact;
mod streams;

pub use command_bus::{RedisCommandBus, RedisCommandBusConfig};
pub use event_bus::{
    EVENT_BUS_DEGRADED_GAUGE, EVENT_BUS_LOCAL_ONLY_COUNTER, RedisEventBus, RedisEventBusConfig,
};

/// What every stream key starts with unless a config says otherwise (the cache's prefix too,
/// so one deployment's keys sit together).
pub const DEFAULT_KEY_PREFIX: &str = "minstrel:";
