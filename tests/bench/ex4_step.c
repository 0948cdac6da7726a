/*
 * The exercise-4 training step in plain C, one thread: the native limit the engine's ex4-step is
 * measured against (tests/side_by_side.ts compiles and races it when gcc is at hand). A benchmark,
 * not a dependency; the engine never loads it.
 *
 *   gcc -O3 -march=native -ffast-math -o /tmp/ex4_step tests/bench/ex4_step.c -lm
 *   /tmp/ex4_step exercises/data/names.txt [STEPS] [REPEATS]
 *
 * The same step as exercises/bench/workloads.ts's ex4Workload and side_by_side.py's ex4_stepper:
 * draw 32 examples, embed (27 × 10, block 3), linear to 200, batchnorm (unbiased variance),
 * tanh, linear to 27, cross-entropy; the lecture's manual backward (batchnorm and cross-entropy
 * in one step each, dC by scatter-add); SGD at lr 0.1. Float32 throughout, as fast as plain C
 * gets without a library: the products in register blocks of 4 × 32 (gcc's vector extensions,
 * AVX-512 where -march=native has it), the 27 classes and 30 inputs padded to 32 with zeros,
 * -ffast-math so that gcc vectorises the sums and calls glibc's vector tanhf and expf. The words
 * are taken in file order (no shuffle) and the batches drawn by xorshift: the same work, not the
 * same numbers. Prints one JSON line: {"case":"ex4-step-native","msPerStep":…,"wallMsPerStep":…}
 * (msPerStep: the median over repeats of CPU time per step), with the loss of the first and the
 * last step so that a broken step shows.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The 27 classes and the 30 inputs padded to 32 (zero weights, ignored columns): whole vectors. */
enum { V = 27, VP = 32, E = 10, B = 3, H = 200, N = 32, D = E * B, DP = 32 };

static float C[V * E], W1[DP * H], b1[H], W2[H * VP], b2[VP], gain[H], bias[H];
static float dC[V * E], dW1[DP * H], db1[H], dW2[H * VP], db2[VP], dgain[H], dbias[H];
static float emb[N * DP], W1T[H * DP], W2T[VP * H], hpre[N * H], mean[H], var_inv[H], raw[N * H], h[N * H];
static float logits[N * VP], probs[N * VP], dlogits[N * VP], dh[N * H], dhpre[N * H];
static float dhprebn[N * H], demb[N * DP];
static int *X, *Y, count;
static int xb[N * B], yb[N];
static uint64_t state = 88172645463325252ull;

static uint64_t next(void) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return state;
}

static float randn(void) {
  double u = (next() >> 11) * 0x1p-53 + 1e-300, v = (next() >> 11) * 0x1p-53;
  return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static void load(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(1);
  }
  int cap = 1 << 18;
  X = malloc(sizeof(int) * cap * B), Y = malloc(sizeof(int) * cap);
  char line[64];
  while (fgets(line, sizeof line, f)) {
    int ctx[B] = {0, 0, 0}, len = (int)strcspn(line, "\r\n");
    for (int i = 0; i <= len; i++) {
      int ix = i < len ? line[i] - 'a' + 1 : 0;
      if (count == cap) break;
      memcpy(X + count * B, ctx, sizeof ctx);
      Y[count++] = ix;
      ctx[0] = ctx[1], ctx[1] = ctx[2], ctx[2] = ix;
    }
  }
  fclose(f);
}

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));

/*
 * c (m × n, row-major) = op(a) @ b, op(a)[i][p] = a[i·rs + p·cs], b k × n row-major: blocks of
 * 4 rows × 32 columns held in eight 16-lane accumulators (gcc's vector extensions: AVX-512
 * registers where -march=native has them), then 4 × 8; m a multiple of 4, n of 8.
 */
static void gemm(const float *a, int rs, int cs, const float *b, float *c, int m, int k, int n) {
  for (int i = 0; i < m; i += 4) {
    const float *a0 = a + i * rs, *a1 = a0 + rs, *a2 = a1 + rs, *a3 = a2 + rs;
    int j = 0;
    for (; j + 32 <= n; j += 32) {
      v16 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
      for (int p = 0; p < k; p++) {
        v16 y0 = *(const v16 *)(b + p * n + j), y1 = *(const v16 *)(b + p * n + j + 16);
        float x0 = a0[p * cs], x1 = a1[p * cs], x2 = a2[p * cs], x3 = a3[p * cs];
        c00 += x0 * y0, c01 += x0 * y1, c10 += x1 * y0, c11 += x1 * y1;
        c20 += x2 * y0, c21 += x2 * y1, c30 += x3 * y0, c31 += x3 * y1;
      }
      *(v16 *)(c + i * n + j) = c00, *(v16 *)(c + i * n + j + 16) = c01;
      *(v16 *)(c + (i + 1) * n + j) = c10, *(v16 *)(c + (i + 1) * n + j + 16) = c11;
      *(v16 *)(c + (i + 2) * n + j) = c20, *(v16 *)(c + (i + 2) * n + j + 16) = c21;
      *(v16 *)(c + (i + 3) * n + j) = c30, *(v16 *)(c + (i + 3) * n + j + 16) = c31;
    }
    for (; j < n; j += 8) {
      v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
      for (int p = 0; p < k; p++) {
        v8 y = *(const v8 *)(b + p * n + j);
        c0 += a0[p * cs] * y, c1 += a1[p * cs] * y, c2 += a2[p * cs] * y, c3 += a3[p * cs] * y;
      }
      *(v8 *)(c + i * n + j) = c0, *(v8 *)(c + (i + 1) * n + j) = c1;
      *(v8 *)(c + (i + 2) * n + j) = c2, *(v8 *)(c + (i + 3) * n + j) = c3;
    }
  }
}

/* t (n × m) = xᵀ for x (m × n), m and n multiples of 8, in tiles of 8 × 8. */
static void transpose(const float *x, float *t, int m, int n) {
  for (int i0 = 0; i0 < m; i0 += 8)
    for (int j0 = 0; j0 < n; j0 += 8)
      for (int j = j0; j < j0 + 8; j++)
        for (int i = i0; i < i0 + 8; i++) t[j * m + i] = x[i * n + j];
}

static float step(float lr) {
  for (int i = 0; i < N; i++) {
    int r = (int)(next() % (uint64_t)count);
    memcpy(xb + i * B, X + r * B, sizeof(int) * B);
    yb[i] = Y[r];
  }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < B; j++) memcpy(emb + i * DP + j * E, C + xb[i * B + j] * E, sizeof(float) * E);
  gemm(emb, DP, 1, W1, hpre, N, DP, H);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++) hpre[i * H + j] += b1[j];
  for (int j = 0; j < H; j++) mean[j] = 0, var_inv[j] = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++) mean[j] += hpre[i * H + j];
  for (int j = 0; j < H; j++) mean[j] /= N;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++) {
      float d = hpre[i * H + j] - mean[j];
      var_inv[j] += d * d;
    }
  for (int j = 0; j < H; j++) var_inv[j] = 1 / sqrtf(var_inv[j] / (N - 1) + 1e-5f);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++) {
      raw[i * H + j] = (hpre[i * H + j] - mean[j]) * var_inv[j];
      h[i * H + j] = tanhf(gain[j] * raw[i * H + j] + bias[j]);
    }
  gemm(h, H, 1, W2, logits, N, H, VP);
  float loss = 0;
  for (int i = 0; i < N; i++) {
    float *l = logits + i * VP, *p = probs + i * VP, mx = -INFINITY, s = 0;
    for (int k = 0; k < V; k++) l[k] += b2[k], mx = l[k] > mx ? l[k] : mx;
    for (int k = 0; k < V; k++) s += p[k] = expf(l[k] - mx);
    for (int k = 0; k < V; k++) p[k] /= s, dlogits[i * VP + k] = p[k] / N;
    loss -= logf(p[yb[i]]) / N;
    dlogits[i * VP + yb[i]] -= 1.0f / N;
  }
  transpose(W2, W2T, H, VP);
  gemm(dlogits, VP, 1, W2T, dh, N, VP, H);
  gemm(h, 1, H, dlogits, dW2, H, N, VP);
  for (int k = 0; k < VP; k++) db2[k] = 0;
  for (int i = 0; i < N; i++)
    for (int k = 0; k < VP; k++) db2[k] += dlogits[i * VP + k];
  for (int j = 0; j < H; j++) dgain[j] = 0, dbias[j] = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++) {
      float y = h[i * H + j], g = dh[i * H + j] * (1 - y * y);
      dhpre[i * H + j] = g;
      dgain[j] += raw[i * H + j] * g;
      dbias[j] += g;
    }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++)
      dhprebn[i * H + j] = gain[j] * var_inv[j] / N *
        (N * dhpre[i * H + j] - dbias[j] - (float)N / (N - 1) * raw[i * H + j] * dgain[j]);
  transpose(W1, W1T, DP, H);
  gemm(dhprebn, H, 1, W1T, demb, N, H, DP);
  gemm(emb, 1, DP, dhprebn, dW1, DP, N, H);
  for (int j = 0; j < H; j++) db1[j] = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < H; j++) db1[j] += dhprebn[i * H + j];
  memset(dC, 0, sizeof dC);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < B; j++)
      for (int k = 0; k < E; k++) dC[xb[i * B + j] * E + k] += demb[i * DP + j * E + k];
  struct { float *p, *g; int n; } ps[] = {
    {C, dC, V * E}, {W1, dW1, DP * H}, {b1, db1, H}, {W2, dW2, H * VP},
    {b2, db2, VP}, {gain, dgain, H}, {bias, dbias, H},
  };
  for (int q = 0; q < 7; q++)
    for (int i = 0; i < ps[q].n; i++) ps[q].p[i] -= lr * ps[q].g[i];
  return loss;
}

static double now(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s names.txt [steps] [repeats]\n", argv[0]);
    return 2;
  }
  load(argv[1]);
  int steps = argc > 2 ? atoi(argv[2]) : 2000, repeats = argc > 3 ? atoi(argv[3]) : 7;
  for (int i = 0; i < V * E; i++) C[i] = randn();
  for (int i = 0; i < DP * H; i++) W1[i] = i < D * H ? randn() * (5.0f / 3) / sqrtf(D) : 0;
  for (int i = 0; i < H; i++) b1[i] = randn() * 0.1f, gain[i] = randn() * 0.1f + 1, bias[i] = randn() * 0.1f;
  for (int i = 0; i < H * VP; i++) W2[i] = i % VP < V ? randn() * 0.1f : 0;
  for (int i = 0; i < V; i++) b2[i] = randn() * 0.1f;
  float first = step(0.1f), last = first;
  for (int i = 0; i < steps; i++) last = step(0.1f);
  double cpu[64], wall[64];
  if (repeats > 64) repeats = 64;
  for (int r = 0; r < repeats; r++) {
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    for (int i = 0; i < steps; i++) last = step(0.1f);
    cpu[r] = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / steps;
    wall[r] = (now(CLOCK_MONOTONIC) - w0) / steps;
  }
  qsort(cpu, repeats, sizeof(double), cmp);
  qsort(wall, repeats, sizeof(double), cmp);
  printf("{\"case\":\"ex4-step-native\",\"msPerStep\":%.6f,\"wallMsPerStep\":%.6f,"
         "\"firstLoss\":%.4f,\"lastLoss\":%.4f}\n",
         cpu[repeats / 2], wall[repeats / 2], first, last);
  return 0;
}
