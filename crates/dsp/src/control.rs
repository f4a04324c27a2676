//! The live-control handle shared between whoever changes filters and the audio thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use minstrel_domain::filters::FilterSpec;

use crate::volume::MAX_PLAYER_VOLUME;

#[derive(Debug)]
struct Shared {
    spec: ArcSwap<FilterSpec>,
    volume: AtomicU16,
    /// Bumped after every change, so the audio thread checks one integer per block.
    generation: AtomicU64,
}

/// Live-controllable filter settings for one player: cheap to clone, `Send + Sync`.
///
/// `set_*` may be called from any thread; the [`FilterChain`](crate::FilterChain) picks the
/// change up at its next 20 ms block and ramps (volume) or cross-fades (filters) over one block.
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
            }),
        }
    }

    pub fn set_filters(&self, spec: FilterSpec) {
        self.shared.spec.store(Arc::new(spec));
        self.shared.generation.fetch_add(1, Ordering::Release);
    }

    /// Player volume in percent; values above 1000 are stored as 1000.
    pub fn set_volume(&self, percent: u16) {
        self.shared
            .volume
            .store(percent.min(MAX_PLAYER_VOLUME), Ordering::Relaxed);
        self.shared.generation.fetch_add(1, Ordering::Release);
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
}
