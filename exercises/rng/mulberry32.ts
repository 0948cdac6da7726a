/**
 * mulberry32: a tiny seeded uniform generator for demos, tests and benchmarks that must draw the
 * same numbers every run. (Training uses the seedrandom or torch-compatible plans of recipe.ts.)
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
