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

void rnn_bf16_pack_pairs(const float *src, long width, long kc, uint16_t *dst) {
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

// MARK: - bf16 micro-kernel

#if defined(__x86_64__)
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// C[R×16] (+)= Σ_q Ã(r, pair q) · B̃(pair q, ·): vdpbf16ps adds to each fp32 lane j the two products of
// the bf16 pair (A(r, 2q), A(r, 2q+1)) with (B(2q, j), B(2q+1, j)). One B̃ row of 16 pairs (one zmm) is
// loaded per q and shared by the R rows; each row's pair is one 32-bit broadcast. R is a constant in every
// caller, so the loops unroll and the R accumulators stay in zmm registers (R ≤ 18 of 32).
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
    switch (rows) {
    case 18: tile(18, pairs, a, aPanelStride, b, c, ldc, add); break;
    case 12: tile(12, pairs, a, aPanelStride, b, c, ldc, add); break;
    case 6: tile(6, pairs, a, aPanelStride, b, c, ldc, add); break;
    case 4: tile(4, pairs, a, aPanelStride, b, c, ldc, add); break;
    case 2: tile(2, pairs, a, aPanelStride, b, c, ldc, add); break;
    default: __builtin_trap();
    }
}

#else

void rnn_bf16_kernel(int rows, long pairs, const uint16_t *a, long aPanelStride, const uint16_t *b,
                     float *c, long ldc, int add) {
    (void)rows; (void)pairs; (void)a; (void)aPanelStride; (void)b; (void)c; (void)ldc; (void)add;
    __builtin_trap();  // never called: rnn_cpu_features() reports no RNN_CPU_AVX512BF16 here
}

#endif
