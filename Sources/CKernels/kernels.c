// bf16 matrix-product kernels over immintrin.h, and the CPU feature test (CKernels.h says what each does).
#include "CKernels.h"
#include <string.h>

// MARK: - CPU features

unsigned rnn_cpu_features(void) {
    static unsigned cached = ~0u;
    if (cached != ~0u) return cached;
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports reads cpuid and, for AVX and AVX-512, xgetbv (whether the OS saves the
    // ymm/zmm state): a feature the OS does not enable counts as missing.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) f |= RNN_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) f |= RNN_CPU_AVX512;
    if ((f & RNN_CPU_AVX512) && __builtin_cpu_supports("avx512bf16")) f |= RNN_CPU_AVX512BF16;
    if (__builtin_cpu_supports("f16c")) f |= RNN_CPU_F16C;
    if (__builtin_cpu_is("amd")) f |= RNN_CPU_AMD;
#endif
    cached = f;
    return f;
}

// MARK: - bf16 conversion

uint16_t rnn_bf16_from_float(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);  // NaN stays quiet NaN
    // Round to nearest, ties to even: add 0x7fff plus the lowest kept bit, then drop the low 16 bits.
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

void rnn_bf16_pack_pairs_scalar(const float *src, long width, long kc, uint16_t *dst) {
    long pairs = (kc + 1) / 2;
    for (long q = 0; q < pairs; q++) {
        const float *even = src + 2 * q * width;
        uint16_t *out = dst + q * width * 2;
        if (2 * q + 1 < kc) {
            const float *odd = even + width;
            for (long j = 0; j < width; j++) {
                out[2 * j] = rnn_bf16_from_float(even[j]);
                out[2 * j + 1] = rnn_bf16_from_float(odd[j]);
            }
        } else {
            for (long j = 0; j < width; j++) {
                out[2 * j] = rnn_bf16_from_float(even[j]);
                out[2 * j + 1] = 0;
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

// rnn_bf16_from_float on 16 lanes, before the shift: bits + 0x7fff + (bit 16), or bits | 0x400000 for a NaN
// (so the high half is the quiet NaN the scalar returns). Integer arithmetic, so subnormals round as they do
// in the scalar, unlike vcvtne2ps2bf16, which flushes them.
AVX512_TARGET __attribute__((always_inline)) static inline __m512i round16(__m512i bits) {
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_or_epi32(rounded, nan, bits, _mm512_set1_epi32(0x00400000));
}

// The scalar's pair layout 16 (or, masked, 6) columns at a time: lane j of the output is one 32-bit pair,
// the even row's bf16 in its low half and the odd row's in its high half.
AVX512_TARGET static void pack_pairs16(const float *src, long width, long kc, uint16_t *dst) {
    __mmask16 mask = (__mmask16)((1u << width) - 1);
    __m512i high = _mm512_set1_epi32((int)0xffff0000);
    long pairs = (kc + 1) / 2;
    for (long q = 0; q < pairs; q++) {
        const float *even = src + 2 * q * width;
        __m512i e = _mm512_srli_epi32(round16(_mm512_maskz_loadu_epi32(mask, even)), 16);
        __m512i o = _mm512_setzero_si512();
        if (2 * q + 1 < kc) o = _mm512_and_si512(round16(_mm512_maskz_loadu_epi32(mask, even + width)), high);
        _mm512_mask_storeu_epi32(dst + q * width * 2, mask, _mm512_or_si512(e, o));
    }
}

void rnn_bf16_pack_pairs(const float *src, long width, long kc, uint16_t *dst) {
    if (width <= 16 && (rnn_cpu_features() & RNN_CPU_AVX512)) pack_pairs16(src, width, kc, dst);
    else rnn_bf16_pack_pairs_scalar(src, width, kc, dst);
}

#else

void rnn_bf16_pack_pairs(const float *src, long width, long kc, uint16_t *dst) {
    rnn_bf16_pack_pairs_scalar(src, width, kc, dst);
}

#endif

// MARK: - bf16 micro-kernel

#if defined(__x86_64__)
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// C[R×16] (+)= Σ_q Ã(r, pair q) · B̃(pair q, ·): vdpbf16ps adds to each fp32 lane j the two products of
// the bf16 pair (A(r, 2q), A(r, 2q+1)) with (B(2q, j), B(2q+1, j)). One B̃ row of 16 pairs (one zmm) is
// loaded per q and shared by the R rows; each row's pair is one 32-bit broadcast. R is a constant in every
// caller, so the loops unroll and the R accumulators stay in zmm registers (R ≤ 18 of 32). Any R from 1 to 18,
// so that the rows left after the 18-row groups take one call (50 = 18 + 18 + 14, not + 12 + 2: a call of
// few rows waits on vdpbf16ps's latency and costs about as much as a full one).
BF16_TARGET __attribute__((always_inline)) static inline void tile(
    const int R, long pairs, const uint16_t *a, long aPanelStride, const uint16_t *b,
    float *c, long ldc, int add)
{
    __m512 acc[18];
    const uint32_t *panel[3];
    for (int g = 0; g < 3; g++) panel[g] = (const uint32_t *)(a + g * aPanelStride);
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    for (long q = 0; q < pairs; q++) {
        __m512bh bv = (__m512bh)_mm512_loadu_si512((const void *)(b + q * 32));
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < R; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)panel[r / 6][q * 6 + r % 6]);
            acc[r] = _mm512_dpbf16_ps(acc[r], av, bv);
        }
    }
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) {
        float *row = c + r * ldc;
        __m512 v = acc[r];
        if (add) v = _mm512_add_ps(v, _mm512_loadu_ps(row));
        _mm512_storeu_ps(row, v);
    }
}

BF16_TARGET void rnn_bf16_kernel(int rows, long pairs, const uint16_t *a, long aPanelStride, const uint16_t *b,
                                 float *c, long ldc, int add) {
#define TILE(R) case R: tile(R, pairs, a, aPanelStride, b, c, ldc, add); break;
    switch (rows) {
    TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8) TILE(9)
    TILE(10) TILE(11) TILE(12) TILE(13) TILE(14) TILE(15) TILE(16) TILE(17) TILE(18)
    default: __builtin_trap();
    }
#undef TILE
}

#else

void rnn_bf16_kernel(int rows, long pairs, const uint16_t *a, long aPanelStride, const uint16_t *b,
                     float *c, long ldc, int add) {
    (void)rows; (void)pairs; (void)a; (void)aPanelStride; (void)b; (void)c; (void)ldc; (void)add;
    __builtin_trap();  // never called: rnn_cpu_features() reports no RNN_CPU_AVX512BF16 here
}

#endif
