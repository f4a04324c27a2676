//! The live-control handle shared between whoever changes filters and the audio thread.
//!
//! A filter change is prepared on the caller's thread: [`FilterControl::set_filters`] builds the
//! new [`Engine`] (allocating its filters, delay lines and buffers, already grown to working
//! size) and leaves it in an exchange slot. The audio thread only takes it from there, warms it
//! and cross-fades; the engine it replaces goes back through the same slot and is dropped by
//! the next `set_filters` or `set_volume` call (or with the last handle). The audio side never
//! waits for the slot: it uses `try_lock` and simply tries again at the next block, so neither
//! side can stall the other and the per-block path allocates and frees nothing.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use arc_swap::ArcSwap;
use minstrel_domain::filters::FilterSpec;

use crate::engine::{Engine, structure_of};
use crate::volume::MAX_PLAYER_VOLUME;

/// Replaced engines the exchange holds until the control side frees them. One chain hands back
/// at most two between two `set_filters` calls; the rest is room for chains sharing a handle.
const RETIRED_CAPACITY: usize = 8;

/// What the control side has prepared and what the audio side has handed back.
#[derive(Debug)]
struct Exchange {
    /// The latest spec (the same as [`Shared::spec`], readable without touching the `ArcSwap`).
    spec: FilterSpec,
    /// An engine built for `structure_of(spec)`, until a chain takes it.
    engine: Option<Engine>,
    /// Engines the audio side is done with; freed by the control side. Never grows past the
    /// capacity it was created with, so handing an engine back never allocates.
    retired: Vec<Engine>,
}

#[derive(Debug)]
struct Shared {
    spec: ArcSwap<FilterSpec>,
    volume: AtomicU16,
    /// Bumped after every change, so the audio thread checks one integer per block.
    generation: AtomicU64,
    exchange: Mutex<Exchange>,
}

/// A change as the audio thread picks it up.
#[derive(Debug)]
pub(crate) struct Update {
    pub(crate) spec: FilterSpec,
    /// The engine for `spec`'s structure, when it differs from the chain's current one.
    pub(crate) engine: Option<Engine>,
}

/// Live-controllable filter settings for one player: cheap to clone, `Send + Sync`.
///
/// `set_*` may be called from any thread; the [`FilterChain`](crate::FilterChain) picks the
/// change up at its next 20 ms block and ramps (volume) or cross-fades (filters) over one block.
/// `set_filters` does the expensive part (building the new filters) on the calling thread, so
/// call it from the control side (a command handler), not from the audio thread.
#[derive(Debug, Clone)]
pub struct FilterControl {
    shared: Arc<Shared>,
}

impl FilterControl {
    /// `volume_percent` is the player volume (0 ..= 1000, 100 = unity; see
    /// [`player_volume_gain`](crate::player_volume_gain)).
    pub fn new(spec: FilterSpec, volume_percent: u16) -> Self {
        Self {
            shared: Arc::new(Shared {
                spec: ArcSwap::from_pointee(spec),
                volume: AtomicU16::new(volume_percent.min(MAX_PLAYER_VOLUME)),
                generation: AtomicU64::new(0),
                exchange: Mutex::new(Exchange {
                    spec,
                    engine: None,
                    retired: Vec::with_capacity(RETIRED_CAPACITY),
                }),
            }),
        }
    }

    /// Sets the filters. Builds the new engine here, on the caller's thread, when the filter
    /// structure changes (anything but the `volume` filter).
    pub fn set_filters(&self, spec: FilterSpec) {
        let structure = structure_of(&spec);
        let previous = structure_of(&self.filters());
        let fresh = (structure != previous).then(|| Engine::prepared(&structure));
        let freed = {
            let mut exchange = self.lock();
            let stale = if structure_of(&exchange.spec) == structure {
                // Same structure (e.g. only the volume filter moved): an engine still waiting
                // for it stays, and one built by a racing caller for it is not needed.
                None
            } else {
                let stale = exchange.engine.take();
                exchange.engine = fresh;
                stale
            };
            exchange.spec = spec;
            (stale, Self::collect(&mut exchange))
        };
        self.shared.spec.store(Arc::new(spec));
        self.shared.generation.fetch_add(1, Ordering::Release);
        // Dropped here, on the control side, after the lock is released.
        drop(freed);
    }

    /// Player volume in percent; values above 1000 are stored as 1000.
    pub fn set_volume(&self, percent: u16) {
        self.shared
            .volume
            .store(percent.min(MAX_PLAYER_VOLUME), Ordering::Relaxed);
        self.shared.generation.fetch_add(1, Ordering::Release);
        let freed = Self::collect(&mut self.lock());
        drop(freed);
    }

    pub fn filters(&self) -> FilterSpec {
        **self.shared.spec.load()
    }

    pub fn volume(&self) -> u16 {
        self.shared.volume.load(Ordering::Relaxed)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Audio side: the latest spec, with the prepared engine when its structure differs from
    /// `current_structure`. `None` while the control side holds the exchange (try again at the
    /// next block). Allocates only if no prepared engine is left, which happens only when
    /// several chains follow one handle and another one took it.
    pub(crate) fn take_update(&self, current_structure: &FilterSpec) -> Option<Update> {
        let mut exchange = self.try_lock()?;
        let spec = exchange.spec;
        let structure = structure_of(&spec);
        if structure == *current_structure {
            return Some(Update { spec, engine: None });
        }
        let engine = match exchange.engine.take() {
            Some(engine) if engine.structure() == &structure => engine,
            other => {
                exchange.engine = other;
                drop(exchange);
                Engine::new(&structure)
            }
        };
        Some(Update {
            spec,
            engine: Some(engine),
        })
    }

    /// Audio side: hands a replaced engine back for the control side to free. Returns it (to
    /// try again at the next block) while the exchange is busy or full.
    pub(crate) fn retire(&self, engine: Engine) -> Option<Engine> {
        let Some(mut exchange) = self.try_lock() else {
            return Some(engine);
        };
        if exchange.retired.len() == exchange.retired.capacity() {
            return Some(engine);
        }
        exchange.retired.push(engine);
        None
    }

    /// Takes the retired engines out (keeping the list's capacity), to be dropped by the caller
    /// once the lock is released.
    fn collect(exchange: &mut Exchange) -> Vec<Engine> {
        exchange.retired.drain(..).collect()
    }

    /// The exchange, whatever a panicking holder left in it (it holds no invariant a panic could
    /// break half-way).
    fn lock(&self) -> MutexGuard<'_, Exchange> {
        self.shared
            .exchange
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, Exchange>> {
        match self.shared.exchange.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}
