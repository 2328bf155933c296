/* Single-thread memory bandwidth, STREAM-style, for the decode roofline of BENCHMARKS.md.
 * copy:  b[i] = a[i]      bytes counted: read + write (STREAM's convention)
 * read:  s += a[i]        bytes counted: read only (what a matrix-vector product does to weights)
 * Arrays of 256 MiB (far above any cache); best of 7 passes. Prints one JSON object.
 * Build: cc -O2 -o membw web/bench/membw.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  const size_t bytes = (size_t)256 << 20, n = bytes / sizeof(uint64_t);
  uint64_t *a = malloc(bytes), *b = malloc(bytes);
  if (!a || !b) return 1;
  for (size_t i = 0; i < n; i++) a[i] = i, b[i] = 0;
  double best_copy = 1e9, best_read = 1e9;
  volatile uint64_t sink = 0;
  for (int pass = 0; pass < 7; pass++) {
    double t = now();
    memcpy(b, a, bytes);
    t = now() - t;
    if (t < best_copy) best_copy = t;
    t = now();
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n; i += 4) s0 += a[i], s1 += a[i + 1], s2 += a[i + 2], s3 += a[i + 3];
    sink += s0 + s1 + s2 + s3 + b[pass];
    t = now() - t;
    if (t < best_read) best_read = t;
  }
  printf("{\"copy_gbs\": %.2f, \"read_gbs\": %.2f, \"array_mib\": 256}\n", 2.0 * bytes / best_copy / 1e9,
         bytes / best_read / 1e9);
  return (int)(sink & 0);
}
