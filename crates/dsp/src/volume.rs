//! Volume curves (Lavalink/lavaplayer), the one place where loudness numbers are defined.

/// lavaplayer's curve constant: `tan(0.0079 · percent)` below 150 %.
const CURVE: f32 = 0.0079;
/// Above this player volume the curve continues as a straight line.
const CURVE_KNEE_PERCENT: u16 = 150;
/// Highest player volume Lavalink accepts.
pub const MAX_PLAYER_VOLUME: u16 = 1000;

/// Gain for a player volume in percent (0 ..= 1000, the app uses 0 ..= 200).
///
/// Lavalink's curve, normalised so 100 % is exactly unity:
/// `gain = tan(0.0079 · percent) / tan(0.79)` up to 150 %, then the straight line through the
/// origin that meets the curve at 150 % (`percent · tan(1.185) / (150 · tan(0.79))`, ≈ 2.44 at
/// 150 %, ≈ 3.25 at 200 %). 50 % is ≈ 0.410 (−7.7 dB); 0 % is silence. Values above 1000 are
/// treated as 1000.
pub fn player_volume_gain(percent: u16) -> f32 {
    let percent = percent.min(MAX_PLAYER_VOLUME);
    let unity = (CURVE * 100.0).tan();
    if percent <= CURVE_KNEE_PERCENT {
        (CURVE * f32::from(percent)).tan() / unity
    } else {
        let knee = f32::from(CURVE_KNEE_PERCENT);
        let at_knee = (CURVE * knee).tan() / unity;
        f32::from(percent) * at_knee / knee
    }
}

/// Gain for Lavalink's `volume` filter (0 ..= 5), exactly as the issue specifies:
/// `tan(0.79 · v)` up to 1.5, then `1.6408 · v` (the two meet at 1.5).
///
/// Note this is lavaplayer's curve without normalisation, so `1.0` is ≈ 1.0092 (+0.08 dB); an
/// absent volume filter is exact unity. Negative or non-finite values are silence; values above
/// 5 are treated as 5.
pub fn filter_volume_gain(v: f32) -> f32 {
    if !(v.is_finite() && v > 0.0) {
        return 0.0;
    }
    let v = v.min(5.0);
    if v <= 1.5 {
        (0.79 * v).tan()
    } else {
        1.6408 * v
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn player_volume_is_unity_at_100_and_continuous_at_the_knee() {
        assert!((player_volume_gain(100) - 1.0).abs() < 1e-6);
        assert_eq!(player_volume_gain(0), 0.0);
        let below = player_volume_gain(150);
        let above = player_volume_gain(151);
        assert!((above - below * 151.0 / 150.0).abs() < 1e-4);
        assert!(player_volume_gain(1000) > player_volume_gain(200));
        assert_eq!(player_volume_gain(5000), player_volume_gain(1000));
    }

    #[test]
    fn filter_volume_follows_lavaplayer() {
        assert!((filter_volume_gain(1.0) - 0.79f32.tan()).abs() < 1e-6);
        assert!((filter_volume_gain(1.5) - filter_volume_gain(1.500_001)).abs() < 1e-3);
        assert!((filter_volume_gain(2.0) - 3.2816).abs() < 1e-4);
        assert_eq!(filter_volume_gain(0.0), 0.0);
    }
}
