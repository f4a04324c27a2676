//! Run-time dispatch of the hot loops to AVX2 + FMA, without `unsafe` in this crate.
//!
//! A kernel is a filter's `#[inline(always)]` block loop, generic over `const FMA: bool`.
//! [`dispatched!`] wraps it in a function that `multiversion` compiles twice, for baseline
//! x86-64 and for AVX2 + FMA, and that picks one by the CPU's features at run time (the check
//! is cached). Everything the kernel inlines is compiled for the chosen target, so the same
//! Rust code gets twice as wide vectors where the CPU has them. Both builds compute the same
//! IEEE operations, except where a kernel asks for fused multiply-adds through [`mul_add`].

/// `a · b + c`, fused (one rounding) when `FMA`; otherwise a multiply and an add, because
/// without the instruction `f32::mul_add` is a slow library call.
#[inline(always)]
pub(crate) fn mul_add<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `a · b + c` in `f64`, fused when `FMA` (see [`mul_add`]).
#[inline(always)]
pub(crate) fn mul_add_f64<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `c − a · b` in `f64`, fused when `FMA` (see [`mul_add`]).
#[inline(always)]
pub(crate) fn minus_product_f64<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { (-a).mul_add(b, c) } else { c - a * b }
}

/// `fn $name(target: &mut T, args…)` calling `target.$kernel::<FMA>(args…)`, compiled for
/// baseline x86-64 and for AVX2 + FMA and dispatched at run time (see the module doc).
macro_rules! dispatched {
    ($(#[$attribute:meta])* fn $name:ident($target:ident: $target_type:ty $(, $argument:ident: $argument_type:ty)*) $(-> $output:ty)? => $kernel:ident) => {
        $(#[$attribute])*
        #[multiversion::multiversion(targets("x86_64+avx2+fma"))]
        fn $name($target: $target_type $(, $argument: $argument_type)*) $(-> $output)? {
            if multiversion::target::target_cfg_f!(target_feature = "fma") {
                $target.$kernel::<true>($($argument),*)
            } else {
                $target.$kernel::<false>($($argument),*)
            }
        }
    };
}
pub(crate) use dispatched;

/// The vector unit of the explicitly vectorised kernels (the reverb's comb bank, the
/// resampler's output loop): `pulp`'s AVX2 + FMA token, whose existence proves the CPU has
/// them, so its wrappers of the intrinsics are safe to call.
#[cfg(target_arch = "x86_64")]
pub(crate) use pulp::x86::V3 as Simd;

/// No explicit-SIMD kernels off x86-64: this type has no values.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Simd {}

/// The vector unit, if this CPU has it (checked at run time; `None` off x86-64).
pub(crate) fn detect_simd() -> Option<Simd> {
    #[cfg(target_arch = "x86_64")]
    {
        Simd::try_new()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Samples per `memcpy` in [`copy_samples`] and [`extend_samples`]: 2 KiB.
const COPY_PIECE: usize = 512;

/// `target.copy_from_slice(source)` (same lengths) in pieces of at most 2 KiB.
///
/// With AVX2, glibc copies 4 KiB or more with `rep movsb`, and a 20 ms block is 7.5 KiB. On
/// AMD EPYC CPUs `rep movsb` is slower than glibc's vector loop at these sizes (compare with
/// `GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=10000000`). 2 KiB pieces stay below
/// that threshold (on SSE2-only CPUs glibc's is 2 KiB, so there they still take
/// `rep movsb`), at the cost of a call per 2 KiB.
#[inline]
pub(crate) fn copy_samples(target: &mut [f32], source: &[f32]) {
    assert_eq!(
        target.len(),
        source.len(),
        "copy between slices of different lengths"
    );
    for (target, source) in target.chunks_mut(COPY_PIECE).zip(source.chunks(COPY_PIECE)) {
        target.copy_from_slice(source);
    }
}

/// Appends `source` to `target` (a `Vec` or a `VecDeque`) in pieces (see [`copy_samples`]).
#[inline]
pub(crate) fn extend_samples(target: &mut impl for<'a> Extend<&'a f32>, source: &[f32]) {
    for piece in source.chunks(COPY_PIECE) {
        target.extend(piece);
    }
}
