/* Fused CPU kernels for the MTCNN cascade (optional; faceorganizer falls back to torch ops).
 *
 * Every function takes raw addresses (tensor.data_ptr()) and sizes of contiguous
 * float32 / int32 / uint8 buffers that the Python wrappers in faceorganizer/_native.py have
 * checked, runs single-threaded with the GIL released (the cascade runs several at once
 * on its worker threads) and writes into a caller-allocated output.
 *
 * Arithmetic follows the torch path: integer bin sums from the summed-area table, then
 * (float)sum * (float)(1/128/(kh*kw)) - 0.99609375; PReLU as max(x, 0) + w * min(x, 0),
 * which equals torch's x > 0 ? x : w * x exactly. Convolution sums are accumulated in a
 * different order than oneDNN's, so they agree to float rounding (about 1e-7 relative);
 * P-Net's conv3 goes through Winograd's F(2x2, 3x3) transforms (additions and exact
 * halvings), which agree to about 1e-6 relative, and its softmax through a polynomial
 * e^x of about 1 ulp.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__GNUC__)
#error "faceorganizer.vision._kernels needs GCC or Clang vector extensions"
#endif

/* One x86-64-v3 (AVX2 + FMA) clone and a baseline clone of each hot kernel, chosen at load
 * time, so one build runs fast on current CPUs and still runs on old ones. */
#if defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
#define HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT
#endif

/* Helpers are inlined into each clone, so they are compiled for its instruction set too. */
#define INLINE static inline __attribute__((always_inline))

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define STD_OFFSET 0.99609375f /* 127.5 * 0.0078125 */
#define PNET_C1 10             /* P-Net conv1 output channels */

INLINE v8f load8(const float *p) {
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Stores v at p + offset (any alignment). */
INLINE void store8(float *p, int64_t offset, v8f v) {
    typedef float v8f_unaligned __attribute__((vector_size(32), aligned(4)));
    *(v8f_unaligned *)(p + offset) = v;
}

INLINE v8f splat8(float x) { return (v8f){x, x, x, x, x, x, x, x}; }

INLINE v8f prelu8(v8f x, v8f w) {
    v8i pos = x > splat8(0.0f);
    v8f lo = (v8f)((v8i)x & ~pos); /* min(x, 0), with -0 kept as the sign allows */
    v8f hi = (v8f)((v8i)x & pos);  /* max(x, 0) */
    return hi + w * lo;
}

/* x > 0 ? x : w * x, branch-free so that loops of it vectorise (a zero may lose its sign) */
INLINE float prelu1(float x, float w) { return (x > 0.0f ? x : 0.0f) + w * (x > 0.0f ? 0.0f : x); }

/* Adaptive-pooling bins of an axis of `length` resized to `out`: [floor(i*L/n), ceil((i+1)*L/n)). */
INLINE void bins(int64_t length, int64_t out, int64_t first, int64_t count, int64_t *start, int64_t *end) {
    for (int64_t k = 0; k < count; k++) {
        int64_t i = first + k;
        start[k] = (i * length) / out;
        end[k] = ((i + 1) * length + out - 1) / out;
    }
}

INLINE float bin_scale(int64_t kh, int64_t kw) {
    return (float)(0.0078125 / ((double)kh * (double)kw));
}

/* ------------------------------------------------------------------ summed-area table */
/* Local summed-area table of `rows` rows of an RGB uint8 image (w pixels a row): out row y,
 * column x + 1 (out points at column 1 of the band's first row; row stride `ts` int32s)
 * receives the sum of rows [0, y] and columns [0, x], per channel. */
HOT static void integral_band(const uint8_t *img, int64_t rows, int64_t w, int32_t *out, int64_t ts) {
    for (int64_t y = 0; y < rows; y++) {
        const uint8_t *src = img + y * w * 3;
        int32_t *dst = out + y * ts;
        const int32_t *above = y ? dst - ts : NULL;
        int32_t r = 0, g = 0, b = 0;
        for (int64_t x = 0; x < w; x++) {
            r += src[3 * x];
            g += src[3 * x + 1];
            b += src[3 * x + 2];
            dst[3 * x] = r;
            dst[3 * x + 1] = g;
            dst[3 * x + 2] = b;
        }
        if (above)
            for (int64_t i = 0; i < 3 * w; i++) dst[i] += above[i];
    }
}

/* --------------------------------------------------------------------- P-Net front */
/* One row of standardised bin means: the bins between table rows rs and re, and columns
 * x0 + cs[j] .. x0 + ce[j] for j < count, of one image's table (wp columns of 3 channels).
 * Channel c of pixel j goes to dst[j * pixel_step + c * channel_step], so one routine
 * writes planar rows (pyramid levels, first-layer input) and channels-last crops. */
INLINE void bin_row(const int32_t *table, int64_t wp, int64_t rs, int64_t re, int64_t x0, int64_t count,
                    const int64_t *cs, const int64_t *ce, float *dst, int64_t pixel_step, int64_t channel_step) {
    const int32_t *top = table + rs * wp * 3, *bottom = table + re * wp * 3;
    const int64_t kh = re - rs;
    for (int64_t j = 0; j < count; j++) {
        float scale = bin_scale(kh, ce[j] - cs[j]);
        const int64_t a = (x0 + cs[j]) * 3, e = (x0 + ce[j]) * 3;
        for (int c = 0; c < 3; c++) {
            int32_t sum = (bottom[e + c] - bottom[a + c]) - (top[e + c] - top[a + c]);
            dst[j * pixel_step + c * channel_step] = (float)sum * scale - STD_OFFSET;
        }
    }
}

/* Conv 3x3 (3 -> G channels) + PReLU of one output row; rows[i] is input row y + i
 * (planar, `stride` floats a channel); wv[o][27] the weights broadcast to vectors;
 * dst[o * dstride + x] for x < cw (rounded up to 8). One function per G, so that the G
 * accumulators stay in registers. */
#define CONV1_ROW(NAME, G)                                                                                 \
    INLINE void NAME(const float *const rows[3], int64_t stride, int64_t cw, const v8f (*wv)[27],         \
                     const float *bias, const float *slope, float *dst, int64_t dstride) {                \
        for (int64_t x0 = 0; x0 < cw; x0 += 8) {                                                          \
            v8f acc[G];                                                                                   \
            for (int o = 0; o < (G); o++) acc[o] = splat8(bias[o]);                                       \
            for (int c = 0; c < 3; c++)                                                                   \
                for (int i = 0; i < 3; i++) {                                                             \
                    const float *src = rows[i] + c * stride + x0;                                         \
                    for (int j = 0; j < 3; j++) {                                                         \
                        v8f v = load8(src + j);                                                           \
                        for (int o = 0; o < (G); o++) acc[o] += wv[o][c * 9 + i * 3 + j] * v;            \
                    }                                                                                     \
                }                                                                                         \
            for (int o = 0; o < (G); o++) {                                                               \
                v8f r = prelu8(acc[o], splat8(slope[o]));                                                 \
                memcpy(dst + o * dstride + x0, &r, sizeof r);                                             \
            }                                                                                             \
        }                                                                                                 \
    }

CONV1_ROW(conv1_row, PNET_C1)
CONV1_ROW(conv1_row7, 7)
CONV1_ROW(conv1_row8, 8)

/* Weights (oc, 3, 3, 3) broadcast to vectors: wv[o][27]. NULL when out of memory. */
static v8f (*broadcast_weights(const float *weight, int64_t oc))[27] {
    v8f(*wv)[27] = aligned_alloc(32, sizeof(v8f) * oc * 27);
    if (wv)
        for (int64_t o = 0; o < oc; o++)
            for (int k = 0; k < 27; k++) wv[o][k] = splat8(weight[o * 27 + k]);
    return wv;
}

/* Level rows [r0, r1) of a level_h x level_w pyramid level (built from the table of one
 * image) through P-Net's conv1, PReLU and 2x2 ceil-mode max pooling. r0 must be even.
 * out: (ceil((r1 - r0 - 2) / 2), ceil((level_w - 2) / 2), 10) float32. */
HOT static int pnet_front(const int32_t *table, int64_t hp, int64_t wp, int64_t level_h, int64_t level_w,
                          int64_t r0, int64_t r1, const float *weight, const float *bias, const float *slope,
                          float *out) {
    const int64_t cr = r1 - r0 - 2, cw = level_w - 2;
    const int64_t ph = (cr + 1) / 2, pw = (cw + 1) / 2;
    const int64_t cwp = (cw + 7) / 8 * 8;      /* conv row width, whole vectors */
    const int64_t stride = cwp + 8;            /* level row plane: covers x0 + j + 8 */
    int64_t *cols = malloc(sizeof(int64_t) * 2 * level_w);
    int64_t *rsb = malloc(sizeof(int64_t) * 2 * (r1 - r0));
    float *ring = calloc((size_t)(4 * 3 * stride), sizeof(float)); /* 4 level rows */
    float *conv = malloc(sizeof(float) * 2 * PNET_C1 * cwp);        /* 2 conv rows */
    v8f(*wv)[27] = broadcast_weights(weight, PNET_C1);
    if (!cols || !rsb || !ring || !conv || !wv) {
        free(cols), free(rsb), free(ring), free(conv), free(wv);
        return -1;
    }
    int64_t *cs = cols, *ce = cols + level_w, *rs = rsb, *re = rsb + (r1 - r0);
    bins(wp - 1, level_w, 0, level_w, cs, ce);
    bins(hp - 1, level_h, r0, r1 - r0, rs, re);

    int64_t built = 0; /* level rows r0 .. r0 + built - 1 are in the ring (slot = row % 4) */
    for (int64_t py = 0; py < ph; py++) {
        int64_t ya = 2 * py, nrows = (ya + 1 < cr) ? 2 : 1;
        for (; built < ya + nrows + 2; built++)
            bin_row(table, wp, rs[built], re[built], 0, level_w, cs, ce, ring + (built % 4) * 3 * stride, 1, stride);
        for (int64_t k = 0; k < nrows; k++) {
            const float *rows[3];
            for (int i = 0; i < 3; i++) rows[i] = ring + ((ya + k + i) % 4) * 3 * stride;
            conv1_row(rows, stride, cw, (const v8f(*)[27])wv, bias, slope, conv + k * PNET_C1 * cwp, cwp);
        }
        float *dst = out + py * pw * PNET_C1;
        for (int o = 0; o < PNET_C1; o++) {
            const float *a = conv + o * cwp, *b = conv + (PNET_C1 + o) * cwp;
            for (int64_t px = 0; px < pw; px++) {
                int64_t x = 2 * px;
                float m = a[x];
                if (x + 1 < cw && a[x + 1] > m) m = a[x + 1];
                if (nrows == 2) {
                    if (b[x] > m) m = b[x];
                    if (x + 1 < cw && b[x + 1] > m) m = b[x + 1];
                }
                dst[px * PNET_C1 + o] = m;
            }
        }
    }
    free(cols), free(rsb), free(ring), free(conv), free(wv);
    return 0;
}

/* ------------------------------------------------------------------------ crops */
/* Whether every box is a non-empty region inside its image (b images of hp - 1 rows and
 * wp - 1 columns): the kernels below read the table there and nowhere else. */
static int boxes_inside(int64_t b, int64_t hp, int64_t wp, int64_t n, const int64_t *inds, const int64_t *y0,
                        const int64_t *y1, const int64_t *x0, const int64_t *x1) {
    for (int64_t k = 0; k < n; k++)
        if (inds[k] < 0 || inds[k] >= b || y0[k] < 0 || y1[k] <= y0[k] || y1[k] >= hp || x0[k] < 0 ||
            x1[k] <= x0[k] || x1[k] >= wp)
            return 0;
    return 1;
}

/* Crop [y0, y1) x [x0, x1) of image inds[k] area-resized to size x size and standardised,
 * for every box k: out (n, size, size, 3) float32. */
HOT static int crops(const int32_t *table, int64_t b_images, int64_t hp, int64_t wp, int64_t n, const int64_t *inds,
                     const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                     int64_t size, float *out) {
    if (!boxes_inside(b_images, hp, wp, n, inds, y0, y1, x0, x1)) return -3;
    int64_t *b = malloc(sizeof(int64_t) * 4 * size);
    if (!b) return -1;
    int64_t *rs = b, *re = b + size, *cs = b + 2 * size, *ce = b + 3 * size;
    for (int64_t k = 0; k < n; k++) {
        bins(y1[k] - y0[k], size, 0, size, rs, re);
        bins(x1[k] - x0[k], size, 0, size, cs, ce);
        const int32_t *img = table + inds[k] * hp * wp * 3;
        float *dst = out + k * size * size * 3;
        for (int64_t i = 0; i < size; i++)
            bin_row(img, wp, y0[k] + rs[i], y0[k] + re[i], x0[k], size, cs, ce, dst + i * size * 3, 3, 1);
    }
    free(b);
    return 0;
}

/* R-Net / O-Net first layer straight from the table: for every box, the standardised
 * size x size crop (as crops() makes it), conv 3x3 (3 -> oc, oc 28 or 32) + PReLU, then
 * 3x3 stride-2 ceil-mode max pooling: out (n, p, p, oc) with p = ceil((size - 5) / 2) + 1. */
HOT static int stage_front(const int32_t *table, int64_t b_images, int64_t hp, int64_t wp, int64_t n,
                           const int64_t *inds,
                           const int64_t *y0, const int64_t *y1, const int64_t *x0, const int64_t *x1,
                           int64_t size, int64_t oc, const float *weight, const float *bias, const float *slope,
                           float *out) {
    if (oc % 7 && oc % 8) return -2;
    if (!boxes_inside(b_images, hp, wp, n, inds, y0, y1, x0, x1)) return -3;
    const int64_t cw = size - 2, cwp = (cw + 7) / 8 * 8, stride = cwp + 8;
    const int64_t p = (cw - 3 + 1) / 2 + 1 - ((cw - 3 + 1) / 2 * 2 >= cw);
    int64_t *b = malloc(sizeof(int64_t) * 4 * size);
    float *crop = calloc((size_t)(size * 3 * stride), sizeof(float));
    float *conv = malloc(sizeof(float) * cw * oc * cwp);
    float *vmax = malloc(sizeof(float) * oc * cwp);
    v8f(*wv)[27] = broadcast_weights(weight, oc);
    if (!b || !crop || !conv || !vmax || !wv) {
        free(b), free(crop), free(conv), free(vmax), free(wv);
        return -1;
    }
    int64_t *rs = b, *re = b + size, *cs = b + 2 * size, *ce = b + 3 * size;
    for (int64_t k = 0; k < n; k++) {
        bins(y1[k] - y0[k], size, 0, size, rs, re);
        bins(x1[k] - x0[k], size, 0, size, cs, ce);
        const int32_t *img = table + inds[k] * hp * wp * 3;
        for (int64_t i = 0; i < size; i++)
            bin_row(img, wp, y0[k] + rs[i], y0[k] + re[i], x0[k], size, cs, ce, crop + i * 3 * stride, 1, stride);
        for (int64_t y = 0; y < cw; y++) {
            const float *rows[3] = {crop + y * 3 * stride, crop + (y + 1) * 3 * stride, crop + (y + 2) * 3 * stride};
            float *dst = conv + y * oc * cwp;
            if (oc % 8 == 0)
                for (int64_t o = 0; o < oc; o += 8)
                    conv1_row8(rows, stride, cw, (const v8f(*)[27])(wv + o), bias + o, slope + o, dst + o * cwp, cwp);
            else
                for (int64_t o = 0; o < oc; o += 7)
                    conv1_row7(rows, stride, cw, (const v8f(*)[27])(wv + o), bias + o, slope + o, dst + o * cwp, cwp);
        }
        float *dst = out + k * p * p * oc;
        for (int64_t py = 0; py < p; py++) {
            int64_t ya = 2 * py, yb = ya + 3 < cw ? ya + 3 : cw;
            memcpy(vmax, conv + ya * oc * cwp, sizeof(float) * oc * cwp);
            for (int64_t y = ya + 1; y < yb; y++) {
                const float *src = conv + y * oc * cwp;
                for (int64_t i = 0; i < oc * cwp; i++) vmax[i] = src[i] > vmax[i] ? src[i] : vmax[i];
            }
            for (int64_t px = 0; px < p; px++) {
                int64_t xa = 2 * px, xb = xa + 3 < cw ? xa + 3 : cw;
                for (int64_t o = 0; o < oc; o++) {
                    const float *v = vmax + o * cwp;
                    float m = v[xa];
                    for (int64_t x = xa + 1; x < xb; x++) m = v[x] > m ? v[x] : m;
                    dst[(py * p + px) * oc + o] = m;
                }
            }
        }
    }
    free(b), free(crop), free(conv), free(vmax), free(wv);
    return 0;
}

/* ------------------------------------------------------------------ PReLU, pooling */
/* In-place PReLU of (n, c) channels-last values. */
HOT static void prelu_inplace(float *restrict x, int64_t n, int64_t c, const float *restrict w) {
    for (int64_t i = 0; i < n; i++) {
        float *restrict row = x + i * c;
        for (int64_t k = 0; k < c; k++) row[k] = prelu1(row[k], w[k]);
    }
}

/* e^x of 8 floats (Cephes' expf polynomial, about 1 ulp; x is clamped to +-88). */
INLINE v8f exp8(v8f x) {
    const v8f hi = splat8(88.3762626647949f), lo = splat8(-88.3762626647949f);
    x = (v8f)(((v8i)(x > hi) & (v8i)hi) | (~(v8i)(x > hi) & (v8i)x));
    x = (v8f)(((v8i)(x < lo) & (v8i)lo) | (~(v8i)(x < lo) & (v8i)x));
    v8f fx = x * splat8(1.44269504088896341f) + splat8(0.5f);
    v8i n = __builtin_convertvector(fx, v8i);
    v8f fn = __builtin_convertvector(n, v8f);
    fn = fn - (v8f)((v8i)(fn > fx) & (v8i)splat8(1.0f)); /* floor */
    n = __builtin_convertvector(fn, v8i);
    x = x - fn * splat8(0.693359375f) - fn * splat8(-2.12194440e-4f);
    v8f z = x * x;
    v8f y = splat8(1.9875691500e-4f);
    y = y * x + splat8(1.3981999507e-3f);
    y = y * x + splat8(8.3334519073e-3f);
    y = y * x + splat8(4.1665795894e-2f);
    y = y * x + splat8(1.6666665459e-1f);
    y = y * x + splat8(5.0000001201e-1f);
    y = y * z + x + splat8(1.0f);
    v8i bits = (n + 127) << 23;
    return y * (v8f)bits;
}

/* Sum of the 8 lanes. */
INLINE float hsum8(v8f v) {
    float a[8];
    memcpy(a, &v, sizeof a);
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

/* P-Net's last layer, fused: PReLU of (n, 32) channels-last conv3 outputs, then one 32 -> 5
 * product per pixel (the face-minus-background logit and the 4 box offsets, weight (5, 32)),
 * written as reg (n, 4) and prob (n, 2) = (sigmoid(-logit), sigmoid(logit)): the two-class
 * softmax. The sums and the exponential round differently from torch's (about 1e-7). */
#define PNET_C2 16
#define PNET_C3 32
typedef struct {
    v8f slope[4], weight[5][4];
    float bias[5];
} Heads;

INLINE void heads_init(Heads *h, const float *slope, const float *weight, const float *bias) {
    for (int j = 0; j < 4; j++) {
        h->slope[j] = load8(slope + 8 * j);
        for (int k = 0; k < 5; k++) h->weight[k][j] = load8(weight + k * PNET_C3 + 8 * j);
    }
    for (int k = 0; k < 5; k++) h->bias[k] = bias[k];
}

/* One pixel's 32 conv3 values (4 vectors) -> its 4 offsets in reg; returns the logit. */
INLINE float heads_pixel(const Heads *h, const v8f c[4], float *reg) {
    v8f v[4];
    for (int j = 0; j < 4; j++) v[j] = prelu8(c[j], h->slope[j]);
    float out[5];
    for (int k = 0; k < 5; k++)
        out[k] = hsum8((h->weight[k][0] * v[0] + h->weight[k][1] * v[1]) +
                       (h->weight[k][2] * v[2] + h->weight[k][3] * v[3])) +
                 h->bias[k];
    for (int k = 0; k < 4; k++) reg[k] = out[k + 1];
    return out[0];
}

/* prob (n, 2) = (sigmoid(-logit), sigmoid(logit)) of n logits. */
INLINE void softmax2(const float *logit, int64_t n, float *prob) {
    for (int64_t i0 = 0; i0 < n; i0 += 8) {
        const int64_t m = n - i0 < 8 ? n - i0 : 8;
        float l[8] = {0};
        memcpy(l, logit + i0, sizeof(float) * m);
        v8f e = exp8(-load8(l)); /* sigmoid(l) = 1 / (1 + e^-l), sigmoid(-l) = e^-l / (1 + e^-l) */
        v8f face = splat8(1.0f) / (splat8(1.0f) + e), background = e * face;
        float f[8], b[8];
        memcpy(f, &face, sizeof f);
        memcpy(b, &background, sizeof b);
        for (int64_t p = 0; p < m; p++) {
            prob[(i0 + p) * 2] = b[p];
            prob[(i0 + p) * 2 + 1] = f[p];
        }
    }
}

#ifndef WT
#define WT 3 /* tiles of P-Net's Winograd conv3 computed together */
#endif

/* Winograd F(2x2, 3x3) input transform V = B^T d B of the 4x4 patch whose top left pixel is
 * (y0, x0) of image b of x (n, h, w, c) channels-last, c >= 8, ld floats from a pixel to the
 * next (c, or more for a slice of channels), zeros outside the image (y0 and x0 may be
 * negative: padding): value xi of channel ch goes to V[xi * stride + ch];
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Vectors of 8 channels, the last one ending at
 * channel c - 1 (it overlaps the one before when 8 does not divide c, writing the same values). */
INLINE void winograd_input(const float *x, int64_t c, int64_t ld, int64_t b, int64_t h, int64_t w, int64_t y0,
                           int64_t x0, float *V, int64_t stride) {
    const v8f zero = splat8(0.0f);
    for (int64_t first = 0; first < c; first += 8) {
        if (first > c - 8) first = c - 8;
        v8f d[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                const int64_t yy = y0 + i, xx = x0 + j;
                d[i][j] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? load8(x + ((b * h + yy) * w + xx) * ld + first)
                                                                   : zero;
            }
        v8f t[4][4];
        for (int j = 0; j < 4; j++) {
            t[0][j] = d[0][j] - d[2][j];
            t[1][j] = d[1][j] + d[2][j];
            t[2][j] = d[2][j] - d[1][j];
            t[3][j] = d[1][j] - d[3][j];
        }
        for (int i = 0; i < 4; i++) {
            store8(V, (i * 4) * stride + first, t[i][0] - t[i][2]);
            store8(V, (i * 4 + 1) * stride + first, t[i][1] + t[i][2]);
            store8(V, (i * 4 + 2) * stride + first, t[i][2] - t[i][1]);
            store8(V, (i * 4 + 3) * stride + first, t[i][1] - t[i][3]);
        }
    }
}

/* u = G g G^T of one 3x3 filter g, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]: 16 values, row-major. */
static void filter_transform(const float *g, float u[16]) {
    float gg[4][3];
    for (int j = 0; j < 3; j++) {
        gg[0][j] = g[j];
        gg[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        gg[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        gg[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        u[i * 4] = gg[i][0];
        u[i * 4 + 1] = 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]);
        u[i * 4 + 2] = 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]);
        u[i * 4 + 3] = gg[i][2];
    }
}

/* The filter bank (k, c, 3, 3), k a multiple of 16, transformed for the Winograd products
 * (winograd_conv, pnet_back): blocks of 32 output channels (the last of 16 when 32 does not
 * divide k), each U[xi][ch][o] with 32 (or 16) values o side by side; 16 * c * k floats. */
static void winograd_pack(const float *weight, int64_t k, int64_t c, float *U) {
    for (int64_t o0 = 0; o0 < k; o0 += 32) {
        const int64_t kb = k - o0 < 32 ? k - o0 : 32;
        float *block = U + o0 * 16 * c;
        for (int64_t o = 0; o < kb; o++)
            for (int64_t ch = 0; ch < c; ch++) {
                float u[16];
                filter_transform(weight + ((o0 + o) * c + ch) * 9, u);
                for (int xi = 0; xi < 16; xi++) block[(xi * c + ch) * kb + o] = u[xi];
            }
    }
}

/* Output transform Y = A^T M A + bias of one tile's first kv vectors of output channels,
 * A^T = [1 1 1 0; 0 1 -1 -1]: 2x2 pixels. */
INLINE void winograd_output(const v8f M[16][4], int kv, const v8f bias[4], v8f Y[2][2][4]) {
    for (int k = 0; k < kv; k++) {
        v8f s[2][4];
        for (int j = 0; j < 4; j++) {
            s[0][j] = M[j][k] + M[4 + j][k] + M[8 + j][k];
            s[1][j] = M[4 + j][k] - M[8 + j][k] - M[12 + j][k];
        }
        for (int i = 0; i < 2; i++) {
            Y[i][0][k] = s[i][0] + s[i][1] + s[i][2] + bias[k];
            Y[i][1][k] = s[i][1] - s[i][2] - s[i][3] + bias[k];
        }
    }
}

/* P-Net's conv3 (16 -> 32 channels, 3x3, weight (32, 16, 3, 3)) by Winograd's F(2x2, 3x3),
 * then its PReLU, both heads and the softmax (heads_pixel, softmax2), never storing conv3's output.
 * x: (n, h, w, 16) channels-last; reg (n, oh, ow, 4), prob (n, oh, ow, 2), oh = h - 2,
 * ow = w - 2. The transforms add and subtract (and halve, exactly), so the sums agree with a
 * direct convolution's to float rounding (about 1e-6 relative). */
HOT static int pnet_back(const float *restrict x, int64_t n, int64_t h, int64_t w, const float *restrict w3,
                         const float *restrict b3, const float *restrict slope, const float *restrict hw,
                         const float *restrict hb, float *restrict reg, float *restrict prob) {
    const int64_t oh = h - 2, ow = w - 2;
    if (oh < 1 || ow < 1) return 0;
    /* U[xi][c][o] = (G g G^T)[xi] of filter (o, c), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
    float *U = aligned_alloc(32, sizeof(float) * 16 * PNET_C2 * PNET_C3);
    float *logit = malloc(sizeof(float) * 2 * ow);
    if (!U || !logit) {
        free(U), free(logit);
        return -1;
    }
    winograd_pack(w3, PNET_C3, PNET_C2, U); /* 32 channels: one block, U[xi][c][o] */
    Heads hd;
    heads_init(&hd, slope, hw, hb);
    v8f bias[4];
    for (int k = 0; k < 4; k++) bias[k] = load8(b3 + 8 * k);
    const v8f zero = splat8(0.0f);

    for (int64_t b = 0; b < n; b++)
        for (int64_t y0 = 0; y0 < oh; y0 += 2) {
            const int64_t rows = oh - y0 < 2 ? 1 : 2;
            for (int64_t x0 = 0; x0 < ow; x0 += 2 * WT) { /* WT tiles side by side share U's loads */
                float V[WT][16][16];
                for (int t = 0; t < WT; t++)
                    winograd_input(x, PNET_C2, PNET_C2, b, h, w, y0, x0 + 2 * t < ow ? x0 + 2 * t : x0, V[t][0], 16);
                v8f M[WT][16][4];
                for (int xi = 0; xi < 16; xi++) {
                    v8f acc[WT][4];
                    for (int t = 0; t < WT; t++)
                        for (int k = 0; k < 4; k++) acc[t][k] = zero;
                    const float *u = U + xi * PNET_C2 * PNET_C3;
                    for (int c = 0; c < PNET_C2; c++) {
                        v8f uk[4];
                        for (int k = 0; k < 4; k++) uk[k] = load8(u + c * PNET_C3 + 8 * k);
                        for (int t = 0; t < WT; t++) {
                            const float v = V[t][xi][c]; /* broadcast by the products */
                            for (int k = 0; k < 4; k++) acc[t][k] += uk[k] * v;
                        }
                    }
                    for (int t = 0; t < WT; t++)
                        for (int k = 0; k < 4; k++) M[t][xi][k] = acc[t][k];
                }
                for (int t = 0; t < WT && x0 + 2 * t < ow; t++) {
                    const int64_t tx = x0 + 2 * t, cols = ow - tx < 2 ? 1 : 2;
                    v8f Y[2][2][4];
                    winograd_output(M[t], 4, bias, Y);
                    for (int64_t i = 0; i < rows; i++)
                        for (int64_t j = 0; j < cols; j++) {
                            const int64_t px = (b * oh + y0 + i) * ow + tx + j;
                            logit[i * ow + tx + j] = heads_pixel(&hd, Y[i][j], reg + px * 4);
                        }
                }
            }
            for (int64_t i = 0; i < rows; i++) softmax2(logit + i * ow, ow, prob + ((b * oh + y0 + i) * ow) * 2);
        }
    free(U), free(logit);
    return 0;
}

/* ----------------------------------------------------- Winograd 3x3 convolution, any size */
/* Bias, activation (0 none, 1 ReLU, 2 PReLU by slope) and store of one output vector. */
INLINE void conv_store(float *dst, v8f y, v8f bias, int act, v8f slope) {
    y += bias;
    if (act == 1) y = prelu8(y, splat8(0.0f));
    if (act == 2) y = prelu8(y, slope);
    store8(dst, 0, y);
}

/* The products of one tile row's GEMM, KV vectors of output channels and WTK tiles at once:
 * M[t][xi][q] = sum over ch of V[xi][t0 + t][ch] * U[xi][ch][8q..8q+7]; then each tile's
 * output transform, bias, activation, store. */
#define WINOGRAD_BLOCK(KV, WTK)                                                                                 \
    for (int64_t t0 = 0; t0 < tiles; t0 += WTK) {                                                               \
        v8f M[WTK][16][4];                                                                                      \
        for (int xi = 0; xi < 16; xi++) {                                                                       \
            v8f acc[WTK][KV];                                                                                   \
            for (int t = 0; t < WTK; t++)                                                                       \
                for (int q = 0; q < KV; q++) acc[t][q] = zero;                                                  \
            const float *u = block + xi * c * (8 * KV), *v = V + (xi * tpad + t0) * c;                          \
            for (int64_t ch = 0; ch < c; ch++) {                                                                \
                v8f uq[KV];                                                                                     \
                for (int q = 0; q < KV; q++) uq[q] = load8(u + ch * (8 * KV) + 8 * q);                          \
                for (int t = 0; t < WTK; t++) {                                                                 \
                    const float s = v[t * c + ch];                                                              \
                    for (int q = 0; q < KV; q++) acc[t][q] += uq[q] * s;                                        \
                }                                                                                               \
            }                                                                                                   \
            for (int t = 0; t < WTK; t++)                                                                       \
                for (int q = 0; q < KV; q++) M[t][xi][q] = acc[t][q];                                           \
        }                                                                                                       \
        for (int t = 0; t < WTK && t0 + t < tiles; t++) {                                                       \
            const int64_t tx = 2 * (t0 + t), cols = ow - tx < 2 ? 1 : 2;                                        \
            v8f Y[2][2][4];                                                                                     \
            winograd_output(M[t], KV, zeros, Y);                                                                \
            for (int64_t i = 0; i < rows; i++)                                                                  \
                for (int64_t j = 0; j < cols; j++) {                                                            \
                    float *dst = out + ((b * oh + y0 + i) * ow + tx + j) * k + o0;                              \
                    for (int q = 0; q < KV; q++)                                                                \
                        conv_store(dst + 8 * q, Y[i][j][q], load8(bias + o0 + 8 * q), act,                      \
                                   act == 2 ? load8(slope + o0 + 8 * q) : zero);                                \
                }                                                                                               \
        }                                                                                                       \
    }

/* 3x3, stride 1 convolution by Winograd's F(2x2, 3x3), with bias and activation (act 0 none,
 * 1 ReLU, 2 PReLU with slope (k,)): x (n, h, w, c) channels-last, c >= 8, ld floats from a
 * pixel to the next (c, or more for a slice of channels), zero padding pad on
 * every side -> out (n, oh, ow, k) channels-last, oh = h + 2 pad - 2, ow likewise; U the
 * filters by winograd_pack, k a multiple of 16. One row of tiles at a time: its input
 * transform V[xi][tile][ch], then products by blocks of 32 output channels (3 tiles at a time)
 * or 16 (6 tiles), the output transform and the store. Sums agree with a direct convolution's
 * to float rounding (about 1e-6 relative). */
HOT static int winograd_conv(const float *restrict x, int64_t n, int64_t h, int64_t w, int64_t c, int64_t ld,
                             int64_t pad,
                             const float *restrict U, const float *restrict bias, int64_t k, int act,
                             const float *restrict slope, float *restrict out) {
    const int64_t oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
    if (oh < 1 || ow < 1 || c < 8 || ld < c || k % 16) return oh < 1 || ow < 1 ? 0 : -2;
    const int64_t tiles = (ow + 1) / 2, tpad = (tiles + 5) / 6 * 6;
    const size_t bytes = (sizeof(float) * 16 * tpad * c + 31) / 32 * 32;
    float *V = aligned_alloc(32, bytes);
    if (!V) return -1;
    memset(V, 0, bytes); /* tiles past the row's end are computed (and dropped): keep them finite */
    const v8f zero = splat8(0.0f);
    const v8f zeros[4] = {zero, zero, zero, zero};
    for (int64_t b = 0; b < n; b++)
        for (int64_t y0 = 0; y0 < oh; y0 += 2) {
            const int64_t rows = oh - y0 < 2 ? 1 : 2;
            for (int64_t t = 0; t < tiles; t++)
                winograd_input(x, c, ld, b, h, w, y0 - pad, 2 * t - pad, V + t * c, tpad * c);
            for (int64_t o0 = 0; o0 < k; o0 += 32) {
                const float *block = U + o0 * 16 * c;
                if (k - o0 >= 32) {
                    WINOGRAD_BLOCK(4, 3)
                } else {
                    WINOGRAD_BLOCK(2, 6)
                }
            }
        }
    free(V);
    return 0;
}

/* PReLU then k x k, stride s, ceil-mode max pooling of (n, h, w, c) channels-last values
 * into (n, oh, ow, c). PReLU is applied to each window's maximum and minimum only: it is
 * increasing for slopes >= 0 and convex for slopes < 0, so its largest value over a window
 * is at one of the two (the result is the same float). */
HOT static int prelu_max_pool(const float *restrict x, int64_t n, int64_t h, int64_t w, int64_t c,
                              const float *restrict slope, int64_t k, int64_t s, int64_t oh, int64_t ow,
                              float *restrict out) {
    float *restrict lo = malloc(sizeof(float) * c);
    if (!lo) return -1;
    for (int64_t b = 0; b < n; b++)
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t ya = oy * s, yb = ya + k < h ? ya + k : h;
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t xa = ox * s, xb = xa + k < w ? xa + k : w;
                float *restrict hi = out + ((b * oh + oy) * ow + ox) * c;
                const float *restrict first = x + ((b * h + ya) * w + xa) * c;
                for (int64_t ch = 0; ch < c; ch++) hi[ch] = lo[ch] = first[ch];
                for (int64_t y = ya; y < yb; y++)
                    for (int64_t xx = xa; xx < xb; xx++) {
                        const float *restrict src = x + ((b * h + y) * w + xx) * c;
                        for (int64_t ch = 0; ch < c; ch++) {
                            float v = src[ch];
                            hi[ch] = v > hi[ch] ? v : hi[ch];
                            lo[ch] = v < lo[ch] ? v : lo[ch];
                        }
                    }
                for (int64_t ch = 0; ch < c; ch++) {
                    float a = prelu1(hi[ch], slope[ch]), z = prelu1(lo[ch], slope[ch]);
                    hi[ch] = z > a ? z : a;
                }
            }
        }
    free(lo);
    return 0;
}

/* ------------------------------------------------------------------------- NMS */
/* Greedy suppression of boxes (n, 4) x1, y1, x2, y2 already in priority order: keep[j]
 * (1 on entry for candidates) is cleared when a kept box i < j overlaps j by more than
 * the threshold. The overlap is the one box_ops.pairwise_overlap computes, in the same
 * float32 operations and order (no fused multiply-adds): "union" (mode 0) is intersection
 * over union without +1 and is compared in double; "min" (mode 1) is intersection over
 * the smaller area with the +1 convention and is compared in float32. */
__attribute__((optimize("fp-contract=off"))) static void greedy_nms(const float *b, int64_t n,
                                                                    double threshold, int mode,
                                                                    uint8_t *keep) {
    const float one = mode ? 1.0f : 0.0f, tf = (float)threshold;
    for (int64_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        const float *p = b + 4 * i;
        float area_i = (p[2] - p[0] + one) * (p[3] - p[1] + one);
        for (int64_t j = i + 1; j < n; j++) {
            if (!keep[j]) continue;
            const float *q = b + 4 * j;
            float area_j = (q[2] - q[0] + one) * (q[3] - q[1] + one);
            float w = (p[2] < q[2] ? p[2] : q[2]) - (p[0] > q[0] ? p[0] : q[0]) + one;
            float h = (p[3] < q[3] ? p[3] : q[3]) - (p[1] > q[1] ? p[1] : q[1]) + one;
            w = w > 0.0f ? w : 0.0f;
            h = h > 0.0f ? h : 0.0f;
            float inter = w * h;
            if (mode) {
                float o = inter / (area_i < area_j ? area_i : area_j);
                if (o > tf) keep[j] = 0;
            } else {
                float u = area_i + area_j;
                float o = inter / (u - inter);
                if ((double)o > threshold) keep[j] = 0;
            }
        }
    }
}

/* ------------------------------------------------------------------ Python bindings */
#define ADDR(T, a) ((T *)(uintptr_t)(a))

static PyObject *py_integral_band(PyObject *self, PyObject *args) {
    Py_ssize_t img, rows, w, out, ts;
    if (!PyArg_ParseTuple(args, "nnnnn", &img, &rows, &w, &out, &ts)) return NULL;
    Py_BEGIN_ALLOW_THREADS integral_band(ADDR(const uint8_t, img), rows, w, ADDR(int32_t, out), ts);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *py_pnet_front(PyObject *self, PyObject *args) {
    Py_ssize_t table, hp, wp, lh, lw, r0, r1, weight, bias, slope, out;
    int rc;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnn", &table, &hp, &wp, &lh, &lw, &r0, &r1, &weight, &bias, &slope,
                          &out))
        return NULL;
    Py_BEGIN_ALLOW_THREADS rc = pnet_front(ADDR(const int32_t, table), hp, wp, lh, lw, r0, r1,
                                           ADDR(const float, weight), ADDR(const float, bias),
                                           ADDR(const float, slope), ADDR(float, out));
    Py_END_ALLOW_THREADS if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* Python exception for a kernel's error code; NULL for success (0). */
static PyObject *kernel_error(int rc, const char *name) {
    if (rc == -1) return PyErr_NoMemory();
    if (rc == -2) return PyErr_Format(PyExc_ValueError, "%s: unsupported channel count", name);
    if (rc == -3) return PyErr_Format(PyExc_ValueError, "%s: a box is empty or outside its image", name);
    return NULL;
}

static PyObject *py_crops(PyObject *self, PyObject *args) {
    Py_ssize_t table, b, hp, wp, n, inds, y0, y1, x0, x1, size, out;
    int rc;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnnn", &table, &b, &hp, &wp, &n, &inds, &y0, &y1, &x0, &x1, &size, &out))
        return NULL;
    Py_BEGIN_ALLOW_THREADS rc = crops(ADDR(const int32_t, table), b, hp, wp, n, ADDR(const int64_t, inds),
                                      ADDR(const int64_t, y0), ADDR(const int64_t, y1), ADDR(const int64_t, x0),
                                      ADDR(const int64_t, x1), size, ADDR(float, out));
    Py_END_ALLOW_THREADS if (rc) return kernel_error(rc, "crops");
    Py_RETURN_NONE;
}

static PyObject *py_prelu_inplace(PyObject *self, PyObject *args) {
    Py_ssize_t x, n, c, w;
    if (!PyArg_ParseTuple(args, "nnnn", &x, &n, &c, &w)) return NULL;
    Py_BEGIN_ALLOW_THREADS prelu_inplace(ADDR(float, x), n, c, ADDR(const float, w));
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *py_pnet_back(PyObject *self, PyObject *args) {
    Py_ssize_t x, n, h, w, w3, b3, slope, hw, hb, reg, prob;
    int rc;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnn", &x, &n, &h, &w, &w3, &b3, &slope, &hw, &hb, &reg, &prob)) return NULL;
    Py_BEGIN_ALLOW_THREADS rc = pnet_back(ADDR(const float, x), n, h, w, ADDR(const float, w3), ADDR(const float, b3),
                                          ADDR(const float, slope), ADDR(const float, hw), ADDR(const float, hb),
                                          ADDR(float, reg), ADDR(float, prob));
    Py_END_ALLOW_THREADS if (rc) return kernel_error(rc, "pnet_back");
    Py_RETURN_NONE;
}

static PyObject *py_winograd_pack(PyObject *self, PyObject *args) {
    Py_ssize_t weight, k, c, U;
    if (!PyArg_ParseTuple(args, "nnnn", &weight, &k, &c, &U)) return NULL;
    Py_BEGIN_ALLOW_THREADS winograd_pack(ADDR(const float, weight), k, c, ADDR(float, U));
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *py_winograd_conv(PyObject *self, PyObject *args) {
    Py_ssize_t x, n, h, w, c, ld, pad, U, bias, k, slope, out;
    int act, rc;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnnin", &x, &n, &h, &w, &c, &ld, &pad, &U, &bias, &k, &slope, &act, &out))
        return NULL;
    Py_BEGIN_ALLOW_THREADS rc = winograd_conv(ADDR(const float, x), n, h, w, c, ld, pad, ADDR(const float, U),
                                              ADDR(const float, bias), k, act, ADDR(const float, slope),
                                              ADDR(float, out));
    Py_END_ALLOW_THREADS if (rc) return kernel_error(rc, "winograd_conv");
    Py_RETURN_NONE;
}

static PyObject *py_prelu_max_pool(PyObject *self, PyObject *args) {
    Py_ssize_t x, n, h, w, c, slope, k, s, oh, ow, out;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnn", &x, &n, &h, &w, &c, &slope, &k, &s, &oh, &ow, &out)) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = prelu_max_pool(ADDR(const float, x), n, h, w, c, ADDR(const float, slope), k, s,
                                               oh, ow, ADDR(float, out));
    Py_END_ALLOW_THREADS if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *py_greedy_nms(PyObject *self, PyObject *args) {
    Py_ssize_t boxes, n, keep;
    double threshold;
    int mode;
    if (!PyArg_ParseTuple(args, "nndin", &boxes, &n, &threshold, &mode, &keep)) return NULL;
    Py_BEGIN_ALLOW_THREADS greedy_nms(ADDR(const float, boxes), n, threshold, mode, ADDR(uint8_t, keep));
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *py_stage_front(PyObject *self, PyObject *args) {
    Py_ssize_t table, b, hp, wp, n, inds, y0, y1, x0, x1, size, oc, weight, bias, slope, out;
    int rc;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnnnnnnn", &table, &b, &hp, &wp, &n, &inds, &y0, &y1, &x0, &x1, &size,
                          &oc, &weight, &bias, &slope, &out))
        return NULL;
    Py_BEGIN_ALLOW_THREADS rc = stage_front(ADDR(const int32_t, table), b, hp, wp, n, ADDR(const int64_t, inds),
                                            ADDR(const int64_t, y0), ADDR(const int64_t, y1),
                                            ADDR(const int64_t, x0), ADDR(const int64_t, x1), size, oc,
                                            ADDR(const float, weight), ADDR(const float, bias),
                                            ADDR(const float, slope), ADDR(float, out));
    Py_END_ALLOW_THREADS if (rc) return kernel_error(rc, "stage_front");
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"stage_front", py_stage_front, METH_VARARGS, "Box crops through R-Net / O-Net conv1, PReLU, pool."},
    {"greedy_nms", py_greedy_nms, METH_VARARGS, "Greedy suppression of boxes in priority order."},
    {"integral_band", py_integral_band, METH_VARARGS, "Local summed-area table of an image band."},
    {"pnet_front", py_pnet_front, METH_VARARGS, "Pyramid-level rows through P-Net conv1, PReLU, pool."},
    {"crops", py_crops, METH_VARARGS, "Standardised area-resized box crops from a summed-area table."},
    {"prelu_inplace", py_prelu_inplace, METH_VARARGS, "In-place channels-last PReLU."},
    {"winograd_pack", py_winograd_pack, METH_VARARGS, "A 3x3 filter bank transformed for winograd_conv."},
    {"winograd_conv", py_winograd_conv, METH_VARARGS, "3x3 stride-1 convolution by Winograd F(2x2, 3x3)."},
    {"pnet_back", py_pnet_back, METH_VARARGS, "P-Net's conv3 (Winograd), PReLU, heads and softmax."},
    {"prelu_max_pool", py_prelu_max_pool, METH_VARARGS, "Channels-last PReLU + ceil-mode max pooling."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "Fused CPU kernels for MTCNN.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
