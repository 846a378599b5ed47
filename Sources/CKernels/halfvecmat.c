// The batch-1 product with weights held in 16 bits (fp16 or bf16): y (+)= x · B with B packed as
// RNNKernels' PackedMatrix packs it (k-block pc at base + pc·nPad, 16-column panel q at + q·kc·16, p-major),
// each weight widened to fp32 as it is loaded and multiplied in fp32. Half the bytes of fp32 weights to
// stream per character, which is what a batch-1 step is bound by.
#include "CKernels.h"
#include <string.h>

float rnn_half_to_float(uint16_t h, int format) {
    if (format == RNN_HALF_BF16) {
        uint32_t bits = (uint32_t)h << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    // IEEE binary16: sign, 5 exponent bits (bias 15), 10 mantissa bits.
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        // subnormal: normalise
        int e = -1;
        do { man <<= 1; e++; } while ((man & 0x400u) == 0);
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t rnn_half_from_float(float x, int format) {
    if (format == RNN_HALF_BF16) return rnn_bf16_from_float(x);
    uint32_t bits;
    memcpy(&bits, &x, 4);
    uint32_t sign = (bits >> 16) & 0x8000u, abs = bits & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);              // NaN
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);             // rounds past 65504: infinity
    if (abs < 0x38800000u) {                                               // below 2⁻¹⁴: subnormal or zero
        if (abs < 0x33000000u) return (uint16_t)sign;                      // below half the smallest: zero
        uint32_t e = abs >> 23, man = (abs & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;                                          // 14..24 + 13 bits to drop
        uint32_t half = man >> shift, rest = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    // normal: drop 13 mantissa bits, to nearest, ties to even (a carry into the exponent is right)
    uint32_t h = ((abs - 0x38000000u) >> 13);
    uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

#if defined(__x86_64__)
#include <immintrin.h>

// 16 weights of one panel row, widened to fp32.
#define LOAD16_512(p) (format == RNN_HALF_BF16 \
    ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16)) \
    : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p))))

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void panels512(
    int format, long q0, long q1, const float *x, const uint16_t *base, long n, long k, long kcMax, long nPad,
    float *y, int accumulate)
{
    for (long q = q0; q < q1; q += 8) {
        long group = q1 - q < 8 ? q1 - q : 8;
        __m512 a[8];
        for (int g = 0; g < 8; g++) a[g] = _mm512_setzero_ps();
        for (long pc = 0; pc < k; pc += kcMax) {
            long kc = k - pc < kcMax ? k - pc : kcMax;
            const uint16_t *p0 = base + pc * nPad + q * kc * 16;
            const uint16_t *panel[8];
            // a short last group re-reads its first panel in the missing slots and drops those sums
            for (int g = 0; g < 8; g++) panel[g] = g < group ? p0 + g * kc * 16 : p0;
            const float *xp = x + pc;
            for (long p = 0; p < kc; p++) {
                __m512 xv = _mm512_set1_ps(xp[p]);
                long o = p * 16;
                _Pragma("clang loop unroll(full)")
                for (int g = 0; g < 8; g++) a[g] = _mm512_fmadd_ps(xv, LOAD16_512(panel[g] + o), a[g]);
            }
        }
        for (int g = 0; g < group; g++) {
            long j = (q + g) * 16, live = n - j < 16 ? n - j : 16;
            if (live <= 0) break;
            __mmask16 m = (__mmask16)((1u << live) - 1);
            __m512 v = a[g];
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, y + j));
            _mm512_mask_storeu_ps(y + j, m, v);
        }
    }
}

#define LOAD8_256(p) (format == RNN_HALF_BF16 \
    ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16)) \
    : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p))))

__attribute__((target("avx2,fma,f16c"))) static void panels256(
    int format, long q0, long q1, const float *x, const uint16_t *base, long n, long k, long kcMax, long nPad,
    float *y, int accumulate)
{
    for (long q = q0; q < q1; q += 4) {
        long group = q1 - q < 4 ? q1 - q : 4;
        __m256 a[8];
        for (int g = 0; g < 8; g++) a[g] = _mm256_setzero_ps();
        for (long pc = 0; pc < k; pc += kcMax) {
            long kc = k - pc < kcMax ? k - pc : kcMax;
            const uint16_t *p0 = base + pc * nPad + q * kc * 16;
            const uint16_t *panel[4];
            for (int g = 0; g < 4; g++) panel[g] = g < group ? p0 + g * kc * 16 : p0;
            const float *xp = x + pc;
            for (long p = 0; p < kc; p++) {
                __m256 xv = _mm256_set1_ps(xp[p]);
                long o = p * 16;
                _Pragma("clang loop unroll(full)")
                for (int g = 0; g < 4; g++) {
                    a[2 * g] = _mm256_fmadd_ps(xv, LOAD8_256(panel[g] + o), a[2 * g]);
                    a[2 * g + 1] = _mm256_fmadd_ps(xv, LOAD8_256(panel[g] + o + 8), a[2 * g + 1]);
                }
            }
        }
        for (int h = 0; h < 2 * group; h++) {
            long j = q * 16 + h * 8, live = n - j < 8 ? n - j : 8;
            if (live <= 0) break;
            float out[8];
            _mm256_storeu_ps(out, a[h]);
            for (long i = 0; i < live; i++) y[j + i] = accumulate ? y[j + i] + out[i] : out[i];
        }
    }
}

void rnn_half_vecmat_panels(int format, int wide, long q0, long q1, const float *x, const uint16_t *base, long n,
                            long k, long kcMax, long nPad, float *y, int accumulate) {
    if (wide) panels512(format, q0, q1, x, base, n, k, kcMax, nPad, y, accumulate);
    else panels256(format, q0, q1, x, base, n, k, kcMax, nPad, y, accumulate);
}

#else

void rnn_half_vecmat_panels(int format, int wide, long q0, long q1, const float *x, const uint16_t *base, long n,
                            long k, long kcMax, long nPad, float *y, int accumulate) {
    (void)wide;
    for (long q = q0; q < q1; q++) {
        for (long jj = 0; jj < 16; jj++) {
            long j = q * 16 + jj;
            if (j >= n) break;
            float s = 0;
            for (long pc = 0; pc < k; pc += kcMax) {
                long kc = k - pc < kcMax ? k - pc : kcMax;
                const uint16_t *panel = base + pc * nPad + q * kc * 16;
                for (long p = 0; p < kc; p++) s += x[pc + p] * rnn_half_to_float(panel[p * 16 + jj], format);
            }
            y[j] = accumulate ? y[j] + s : s;
        }
    }
}

#endif

// MARK: - Rounding a packed block

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) static void round_fp16_f16c(float *block, uint16_t *half, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(block + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(half + i), h);
        _mm256_storeu_ps(block + i, _mm256_cvtph_ps(h));
    }
    for (; i < count; i++) {
        half[i] = rnn_half_from_float(block[i], RNN_HALF_FP16);
        block[i] = rnn_half_to_float(half[i], RNN_HALF_FP16);
    }
}
#endif

void rnn_half_round_block(float *block, uint16_t *half, long count, int format, int f16c) {
#if defined(__x86_64__)
    if (format == RNN_HALF_FP16 && f16c) {
        round_fp16_f16c(block, half, count);
        return;
    }
#endif
    (void)f16c;
    for (long i = 0; i < count; i++) {
        half[i] = rnn_half_from_float(block[i], format);
        block[i] = rnn_half_to_float(half[i], format);
    }
}
