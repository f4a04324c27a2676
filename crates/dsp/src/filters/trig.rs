//! Branch-free `f32` sine, cosine and tangent for per-sample shaping (distortion), so a loop
//! over a block vectorises instead of calling libm three times per sample.
//!
//! Cody–Waite reduction by π/2 to `r ∈ [−π/4, π/4]`, then Cephes' `sinf`/`cosf` minimax
//! polynomials; the quadrant picks and signs the result. Within 3e-7 of libm for
//! `|x| < 1000` (the distortion sees `|x| ≲ 100`). Beyond about 6e6 the reduction breaks down
//! and the result is meaningless but finite or infinite, never NaN from finite input; callers
//! treat a non-finite result as silence.

use std::f32::consts::FRAC_2_PI;

/// π/2 split so that `q · PART_1` and `q · PART_2` are exact for the quadrants we meet.
const PART_1: f32 = 1.570_312_5;
const PART_2: f32 = 4.837_513e-4;
const PART_3: f32 = 7.549_79e-8;
/// Adding and subtracting 1.5 · 2²³ rounds to the nearest integer without a library call
/// (`round` is one on baseline x86-64), and in between the integer sits in the low mantissa bits
/// (as `2²² + q`), which gives the quadrant without a float-to-int conversion.
const ROUNDING: f32 = 12_582_912.0;

/// `x = q · π/2 + r` with `r ∈ [−π/4, π/4]`; returns `r` and bits whose lowest two are `q mod 4`.
#[inline(always)]
fn reduce(x: f32) -> (f32, u32) {
    let shifted = x * FRAC_2_PI + ROUNDING;
    let q = shifted - ROUNDING;
    let r = ((x - q * PART_1) - q * PART_2) - q * PART_3;
    (r, shifted.to_bits())
}

/// `(sin r, cos r)` for `r ∈ [−π/4, π/4]`.
#[inline(always)]
fn polynomials(r: f32) -> (f32, f32) {
    let z = r * r;
    let sin = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * r + r;
    let cos = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    (sin, cos)
}

#[inline(always)]
pub(crate) fn sin(x: f32) -> f32 {
    let (r, quadrant) = reduce(x);
    let (sin, cos) = polynomials(r);
    let value = if quadrant & 1 == 0 { sin } else { cos };
    if quadrant & 2 == 0 { value } else { -value }
}

#[inline(always)]
pub(crate) fn cos(x: f32) -> f32 {
    let (r, quadrant) = reduce(x);
    let (sin, cos) = polynomials(r);
    let value = if quadrant & 1 == 0 { cos } else { sin };
    if quadrant.wrapping_add(1) & 2 == 0 {
        value
    } else {
        -value
    }
}

/// Infinite or NaN exactly at a pole.
#[inline(always)]
pub(crate) fn tan(x: f32) -> f32 {
    let (r, quadrant) = reduce(x);
    let (sin, cos) = polynomials(r);
    // One division either way: `sin r / cos r`, or `−cos r / sin r` in odd quadrants.
    let (numerator, denominator) = if quadrant & 1 == 0 {
        (sin, cos)
    } else {
        (-cos, sin)
    };
    numerator / denominator
}

#[cfg(test)]
mod tests {
    #[allow(clippy::cast_precision_loss)]
    fn arguments() -> impl Iterator<Item = f32> {
        (-200_000..=200_000).map(|step| step as f32 * 0.005)
    }

    #[test]
    fn sin_and_cos_match_libm() {
        for x in arguments() {
            assert!((super::sin(x) - x.sin()).abs() < 3e-7, "sin {x}");
            assert!((super::cos(x) - x.cos()).abs() < 3e-7, "cos {x}");
        }
    }

    #[test]
    fn tan_matches_libm_away_from_its_poles() {
        for x in arguments().filter(|x| x.cos().abs() > 1e-2) {
            let (fast, exact) = (super::tan(x), x.tan());
            assert!(
                (fast - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                "tan {x}"
            );
        }
    }
}
