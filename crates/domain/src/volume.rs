//! Player volume in percent.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("volume must be between 0 and {max} % (got {value})", max = Volume::MAX)]
pub struct VolumeError {
    pub value: i64,
}

/// Player volume, 0 ..= 200 %, 100 % is the track's own level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Volume(u16);

impl Volume {
    pub const MAX: u16 = 200;
    pub const DEFAULT: Volume = Volume(100);

    pub fn new(percent: i64) -> Result<Self, VolumeError> {
        u16::try_from(percent)
            .ok()
            .filter(|value| *value <= Self::MAX)
            .map(Self)
            .ok_or(VolumeError { value: percent })
    }

    pub fn percent(self) -> u16 {
        self.0
    }
}

impl Default for Volume {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} %", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_accepts_its_range_only() {
        assert_eq!(Volume::new(0).unwrap().percent(), 0);
        assert_eq!(Volume::new(200).unwrap().percent(), 200);
        assert_eq!(
            Volume::new(201).unwrap_err().to_string(),
            "volume must be between 0 and 200 % (got 201)"
        );
        assert!(Volume::new(-1).is_err());
        assert_eq!(Volume::default().percent(), 100);
    }
}
