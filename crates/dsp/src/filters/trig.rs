//! Branch-free `f32` sine, cosine and tangent for per-sample shaping (distortion), so a loop
//! over a block vectorises instead of calling libm three times per sample.
//!
//! Sine and cosine: Cody–Waite reduction by π to `r ∈ [−π/2, π/2]` and one odd polynomial,
//! signed by the parity of the multiple of π. Tangent: reduction by π/2 to `r ∈ [−π/4, π/4]`,
//! then Cephes' `sinf`/`cosf` minimax polynomials, picked and signed by the quadrant. Within 3e-7 of libm for
//! `|x| < 1000` (the distortion sees `|x| ≲ 100`). Beyond about 6e6 the reduction breaks down
//! and the result is meaningless but finite or infinite, never NaN from finite input; callers
//! treat a non-finite result as silence.

use std::f32::consts::{FRAC_1_PI, FRAC_2_PI};

use crate::kernel::mul_add;

/// π/2 split so that `q · PART_1` and `q · PART_2` are exact for the quadrants we meet.
const PART_1: f32 = 1.570_312_5;
const PART_2: f32 = 4.837_513e-4;
const PART_3: f32 = 7.549_79e-8;
/// Adding and subtracting 1.5 · 2²³ rounds to the nearest integer without a library call
/// (`round` is one on baseline x86-64), and in between the integer sits in the low mantissa bits
/// (as `2²² + q`), which gives the quadrant without a float-to-int conversion.
const ROUNDING: f32 = 12_582_912.0;

/// `PART_2 + PART_3`, rounded: its rounding error (under 3e-11) times `k` is below 2e-8 for
/// `|x| < 1000`.
const PARTS_2_3: f32 = PART_2 + PART_3;

/// `x − k · π/2` for a whole `k` (Cody–Waite): `k · PART_1` is exact, so the first step loses
/// nothing; the rest of π/2 goes in one more step, where three steps made the chain one
/// multiply-add longer for error below `f32`'s own.
#[inline(always)]
fn minus_half_pis<const FMA: bool>(x: f32, k: f32) -> f32 {
    mul_add::<FMA>(-k, PARTS_2_3, mul_add::<FMA>(-k, PART_1, x))
}

/// `x = q · π/2 + r` with `r ∈ [−π/4, π/4]`; returns `r` and bits whose lowest two are `q mod 4`.
#[inline(always)]
fn reduce<const FMA: bool>(x: f32) -> (f32, u32) {
    let shifted = mul_add::<FMA>(x, FRAC_2_PI, ROUNDING);
    let q = shifted - ROUNDING;
    (minus_half_pis::<FMA>(x, q), shifted.to_bits())
}

/// `(sin r, cos r)` for `r ∈ [−π/4, π/4]`.
#[inline(always)]
fn polynomials<const FMA: bool>(r: f32) -> (f32, f32) {
    // Estrin's scheme (as in `sine_polynomial`): `z²` and `r · z` are formed beside the first
    // steps, so each result is three steps after `z` where Horner's order took four.
    let z = r * r;
    let z2 = z * z;
    let sine = mul_add::<FMA>(
        mul_add::<FMA>(
            -1.951_529_6e-4,
            z2,
            mul_add::<FMA>(8.332_161e-3, z, -1.666_665_5e-1),
        ),
        r * z,
        r,
    );
    let cosine = mul_add::<FMA>(
        mul_add::<FMA>(
            2.443_315_7e-5,
            z2,
            mul_add::<FMA>(-1.388_731_6e-3, z, 4.166_664_6e-2),
        ),
        z2,
        mul_add::<FMA>(-0.5, z, 1.0),
    );
    (sine, cosine)
}

/// `sin r` for `r ∈ [−π/2, π/2]`: one odd polynomial of degree 9 (fitted here for the
/// smallest largest error over that range, 5e-9 before `f32` rounding).
#[inline(always)]
fn sine_polynomial<const FMA: bool>(r: f32) -> f32 {
    let z = r * r;
    // Estrin's scheme: the two halves of the polynomial in `z` side by side, then joined by
    // `z²`, two steps deep where Horner's is three.
    let low = mul_add::<FMA>(8.333_017e-3, z, -1.666_665_7e-1);
    let high = mul_add::<FMA>(2.600_054_4e-6, z, -1.980_661_5e-4);
    let p = mul_add::<FMA>(high, z * z, low);
    mul_add::<FMA>(p * z, r, r)
}

/// Flips the sign of `value` when bit 0 of `bits` is set.
#[inline(always)]
fn negate_if_odd(value: f32, bits: u32) -> f32 {
    f32::from_bits(value.to_bits() ^ (bits << 31))
}

/// `sin x = (−1)^m · sin(x − m·π)` with `m` the nearest integer to `x / π`: one polynomial,
/// no choice between two (the reduction by π/2 needs both a sine and a cosine polynomial
/// and a select).
#[inline(always)]
pub(crate) fn sin<const FMA: bool>(x: f32) -> f32 {
    let shifted = mul_add::<FMA>(x, FRAC_1_PI, ROUNDING);
    let m = shifted - ROUNDING;
    // `x − 2m · π/2`, with the doubling in the (exactly doubled) constants.
    let r = mul_add::<FMA>(-m, 2.0 * PARTS_2_3, mul_add::<FMA>(-m, 2.0 * PART_1, x));
    negate_if_odd(sine_polynomial::<FMA>(r), shifted.to_bits())
}

/// `cos x = (−1)^(m+1) · sin(x − (2m + 1)·π/2)` with `2m + 1` the nearest odd integer to
/// `x / (π/2)`; the same polynomial as [`sin`].
#[inline(always)]
pub(crate) fn cos<const FMA: bool>(x: f32) -> f32 {
    let shifted = mul_add::<FMA>(x, FRAC_1_PI, -0.5) + ROUNDING;
    let m = shifted - ROUNDING;
    let r = minus_half_pis::<FMA>(x, m + m + 1.0);
    negate_if_odd(sine_polynomial::<FMA>(r), shifted.to_bits().wrapping_add(1))
}

/// Infinite or NaN exactly at a pole.
#[inline(always)]
pub(crate) fn tan<const FMA: bool>(x: f32) -> f32 {
    let (r, quadrant) = reduce::<FMA>(x);
    let (sine, cosine) = polynomials::<FMA>(r);
    // One division either way: `sin r / cos r`, or `−cos r / sin r` in odd quadrants.
    let (numerator, denominator) = if quadrant & 1 == 0 {
        (sine, cosine)
    } else {
        (-cosine, sine)
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
            for (sin, cos) in [
                (super::sin::<false>(x), super::cos::<false>(x)),
                (super::sin::<true>(x), super::cos::<true>(x)),
            ] {
                assert!((sin - x.sin()).abs() < 3e-7, "sin {x}: {sin}");
                assert!((cos - x.cos()).abs() < 3e-7, "cos {x}: {cos}");
            }
        }
    }

    /// The distortion replaces a function whose scale is zero by its value at zero, which must
    /// therefore be exact.
    #[test]
    fn zero_gives_exact_values() {
        for (sin, cos, tan) in [
            (
                super::sin::<false>(0.0),
                super::cos::<false>(0.0),
                super::tan::<false>(0.0),
            ),
            (
                super::sin::<true>(0.0),
                super::cos::<true>(0.0),
                super::tan::<true>(0.0),
            ),
        ] {
            assert_eq!((sin, cos, tan), (0.0, 1.0, 0.0));
        }
    }

    #[test]
    fn tan_matches_libm_away_from_its_poles() {
        for x in arguments().filter(|x| x.cos().abs() > 1e-2) {
            let (fast, exact) = (super::tan::<false>(x), x.tan());
            let fused = super::tan::<true>(x);
            assert!(
                (fused - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                "fused tan {x}"
            );
            assert!(
                (fast - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                "tan {x}"
            );
        }
    }
}
