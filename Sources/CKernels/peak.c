// The machine's multiply-add peaks for rnn-bench: 12 independent accumulator chains of one instruction,
// enough to cover its latency on both pipes. Each returns a value depending on every chain, so the work
// cannot be dropped. Call only where rnn_cpu_features() reports the instruction set.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CHAINS(T, ZERO, STEP)                                                           \
    T a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO, a4 = ZERO, a5 = ZERO;                  \
    T a6 = ZERO, a7 = ZERO, a8 = ZERO, a9 = ZERO, a10 = ZERO, a11 = ZERO;                \
    for (long i = 0; i < steps; i++) {                                                  \
        a0 = STEP(a0); a1 = STEP(a1); a2 = STEP(a2); a3 = STEP(a3); a4 = STEP(a4);       \
        a5 = STEP(a5); a6 = STEP(a6); a7 = STEP(a7); a8 = STEP(a8); a9 = STEP(a9);       \
        a10 = STEP(a10); a11 = STEP(a11);                                               \
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5)); \
    }                                                                                   \
    T s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),    \
                        _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));   \
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11))); \
    return _mm512_reduce_add_ps(s);

__attribute__((target("avx512f"))) float rnn_peak_fp32x16(long steps, float seed) {
    __m512 x = _mm512_set1_ps(1 + seed * 1e-9f), y = _mm512_set1_ps(1e-7f * seed);
#define FMA(a) _mm512_fmadd_ps(x, y, a)
    CHAINS(__m512, _mm512_set1_ps(seed), FMA)
#undef FMA
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) float rnn_peak_bf16x32(long steps, float seed) {
    __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1 + seed * 1e-9f), _mm512_set1_ps(1));
    __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-7f * seed), _mm512_set1_ps(1e-7f));
#define DP(a) _mm512_dpbf16_ps(a, x, y)
    CHAINS(__m512, _mm512_set1_ps(seed), DP)
#undef DP
}

#else
float rnn_peak_fp32x16(long steps, float seed) { (void)steps; return seed; }
float rnn_peak_bf16x32(long steps, float seed) { (void)steps; return seed; }
#endif
