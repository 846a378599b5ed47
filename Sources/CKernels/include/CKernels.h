// The kernels Swift cannot express: bf16 matrix products with AVX512_BF16's vdpbf16ps (Swift has no bf16
// vector type and cannot import __m512bh), and the CPU feature test that picks kernels at run time.
// Every function here is compiled for the baseline x86-64 (or any other) target; the ones that use
// AVX-512 carry their own target attribute and run only after rnn_cpu_features() has said they may.
#ifndef RNNSTREAM_CKERNELS_H
#define RNNSTREAM_CKERNELS_H

#include <stdint.h>

/// Feature bits of rnn_cpu_features().
enum {
    /// AVX2, FMA and F16C (the baseline the Swift kernels are compiled for on x86_64).
    RNN_CPU_AVX2 = 1,
    /// AVX-512 F, BW, VL and DQ with the OS saving zmm state: the 16-lane Swift kernels (RNNKernels16).
    RNN_CPU_AVX512 = 2,
    /// AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16) on top of RNN_CPU_AVX512: the bf16 kernels below.
    RNN_CPU_AVX512BF16 = 4,
    /// F16C (vcvtph2ps, vcvtps2ph).
    RNN_CPU_F16C = 8,
    /// An AMD CPU (cpuid's vendor): not a feature, but where AVX512_BF16 is fast (Precision.trainingDefault).
    RNN_CPU_AMD = 16,
};

/// What this CPU can run (cpuid and xgetbv, read once); 0 on other architectures.
unsigned rnn_cpu_features(void);

/// Rounds x to bfloat16, to nearest with ties to even, the way vcvtne2ps2bf16 does (a NaN stays a NaN;
/// denormals are not flushed here: weights and activations never are, and the kernels' flush of them is
/// the only difference). Returns the 16 high bits of the rounded float.
uint16_t rnn_bf16_from_float(float x);

/// Converts a p-major panel of `width` columns and `kc` rows (src[p·width + j]) to the pair layout
/// vdpbf16ps reads: dst[(q·width + j)·2 + e] = bf16(src[(2q + e)·width + j]) for q < ⌈kc/2⌉, with the
/// missing odd row of an odd kc zero. `width` is 6 (an A panel) or 16 (a B panel). With AVX-512, 16 columns
/// (or 6, masked) a step, in integer arithmetic; the same bits as rnn_bf16_pack_pairs_scalar, its twin.
void rnn_bf16_pack_pairs(const float *src, long width, long kc, uint16_t *dst);
void rnn_bf16_pack_pairs_scalar(const float *src, long width, long kc, uint16_t *dst);

/// C[rows×16] (+)= Ã·B̃ in bf16 with fp32 accumulation, for `rows` from 1 to 18: the first `rows` rows of
/// 3 consecutive 6-row A panels, panel g at a + g·aPanelStride (only the panels those rows reach are read). Ã and B̃
/// are in the pair layout of rnn_bf16_pack_pairs over `pairs` pairs of k. Every accumulator starts at 0 and
/// takes the pairs in order q = 0, 1, …; the sum is then added to C (add ≠ 0) or stored over it.
/// Needs RNN_CPU_AVX512BF16.
void rnn_bf16_kernel(int rows, long pairs, const uint16_t *a, long aPanelStride, const uint16_t *b,
                     float *c, long ldc, int add);

/// 16-bit weight formats of rnn_half_vecmat_panels.
enum { RNN_HALF_FP16 = 0, RNN_HALF_BF16 = 1 };

/// x rounded to fp16 (IEEE binary16, to nearest, ties to even, subnormals kept, overflow to infinity) or bf16,
/// and back (halfvecmat.c).
uint16_t rnn_half_from_float(float x, int format);
float rnn_half_to_float(uint16_t h, int format);

/// half[i] = `format`(block[i]) and block[i] = that value widened back, for i < count: what a packing for
/// 16-bit weights does to each packed block. `f16c` ≠ 0 (needs RNN_CPU_AVX2): fp16 through F16C's
/// vcvtps2ph (the same IEEE rounding as rnn_half_from_float, eight at a time).
void rnn_half_round_block(float *block, uint16_t *half, long count, int format, int f16c);

/// Columns of 16-column panels q0..<q1 of y (+)= x·B for a B packed as PackedMatrix packs it, but in 16-bit
/// weights (`format`): each element sums its K products in order p = 0…K−1 in one fp32 accumulator, the
/// weight widened exactly to fp32 (so the result is that of the fp32 product with the rounded weights, in
/// the same order), then is added to y (accumulate ≠ 0) or stored. `wide`: 16 lanes (needs RNN_CPU_AVX512),
/// else 8 (needs RNN_CPU_AVX2 and RNN_CPU_F16C); both give the same bits.
void rnn_half_vecmat_panels(int format, int wide, long q0, long q1, const float *x, const uint16_t *base, long n,
                            long k, long kcMax, long nPad, float *y, int accumulate);

/// rnn-bench's peak loops (peak.c): `steps` rounds of 12 independent chains of one 512-bit fp32 FMA
/// (16 multiply-adds each; needs RNN_CPU_AVX512) or one vdpbf16ps (32 each; needs RNN_CPU_AVX512BF16).
float rnn_peak_fp32x16(long steps, float seed);
float rnn_peak_bf16x32(long steps, float seed);

#endif
