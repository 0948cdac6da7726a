/**
 * Summary statistics of a tensor's elements, and histograms: what the charts show of a gradient
 * or an activation instead of its raw numbers (one pass, no allocation beyond the result).
 */
import type { TensorData } from "../ops/kernels/tensor.ts";

/** Statistics of a tensor's elements. `std` is the population standard deviation. */
export interface TensorStats {
  /** How many elements the tensor has. */
  count: number;
  /** The mean of the elements (0 for an empty tensor, as are all the others). */
  mean: number;
  /** The population standard deviation: the root of the mean squared deviation (divides by n). */
  std: number;
  /** Mean of |x|. */
  meanAbs: number;
  /** Largest |x|. */
  maxAbs: number;
  /** The smallest element. */
  min: number;
  /** The largest element. */
  max: number;
}

/** One pass over `data`; an empty array gives zeros. */
export function tensorStats(data: TensorData | readonly number[]): TensorStats {
  const n = data.length;
  if (n === 0) return { count: 0, mean: 0, std: 0, meanAbs: 0, maxAbs: 0, min: 0, max: 0 };
  let sum = 0, sumAbs = 0, maxAbs = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = data[i];
    sum += x;
    const a = Math.abs(x);
    sumAbs += a;
    if (a > maxAbs) maxAbs = a;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (data[i] - mean) ** 2;
  return { count: n, mean, std: Math.sqrt(ss / n), meanAbs: sumAbs / n, maxAbs, min, max };
}

/** Population standard deviation alone (the hot path of the trace collector). */
export function stdOf(data: TensorData): number {
  const n = data.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += data[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (data[i] - mean) ** 2;
  return Math.sqrt(ss / n);
}

/** One bin of a histogram: [x0, x1) holding `count` elements. */
export interface Bin {
  /** The bin's lower edge, in the data's units. */
  x0: number;
  /** The bin's upper edge: the next bin's `x0` (the last bin holds values equal to it as well). */
  x1: number;
  /** How many elements fell in the bin; the edge bins also count those outside the range. */
  count: number;
}

/** A histogram of one layer's activations or gradients. */
export interface Histogram {
  /** The layer's name (`h`, `hpreact`, `W1`). */
  name: string;
  /** What was counted. */
  of: "activation" | "gradient";
  /** The shape of the tensor that was counted. */
  shape: readonly number[];
  /** The equal-width bins, lowest first. */
  bins: Bin[];
  /** Statistics of the tensor's elements themselves (exact, not read off the bins). */
  stats: TensorStats;
  /** For tanh outputs: the share of elements with |h| > 0.97 (0..1). */
  saturation?: number;
}

/** Options of `histogram`. */
export interface HistogramOptions {
  /** Number of equal-width bins (default 50). */
  bins?: number;
  /** The range to bin over (default [min, max] of the data; tanh outputs use [−1, 1]). */
  range?: readonly [number, number];
  /** Count the share of saturated tanh units (|h| > 0.97) as well. */
  tanh?: boolean;
}

/** The |h| above which a tanh unit counts as saturated (Karpathy's threshold). */
export const SATURATION_THRESHOLD = 0.97;

/** Bins `data` into equal-width bins; values outside the range land in the edge bins. */
export function histogram(
  name: string,
  of: Histogram["of"],
  shape: readonly number[],
  data: TensorData,
  options: HistogramOptions = {},
): Histogram {
  const stats = tensorStats(data);
  const nb = options.bins ?? 50;
  let [lo, hi] = options.range ?? (options.tanh ? [-1, 1] : [stats.min, stats.max]);
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, lo + 0.5]; // a constant tensor still gets a visible bin
  const width = (hi - lo) / nb;
  const counts = new Array<number>(nb).fill(0);
  let saturated = 0;
  // Compare in the data's own precision, as torch's `h.abs() > 0.97` does: float32(0.97) is
  // 0.97000003, which must not count as above 0.97.
  const threshold = data instanceof Float32Array
    ? Math.fround(SATURATION_THRESHOLD)
    : SATURATION_THRESHOLD;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    const k = Math.min(nb - 1, Math.max(0, Math.floor((x - lo) / width)));
    counts[k]++;
    if (Math.abs(x) > threshold) saturated++;
  }
  const bins = counts.map((count, k) => ({ x0: lo + k * width, x1: lo + (k + 1) * width, count }));
  const h: Histogram = { name, of, shape: [...shape], bins, stats };
  if (options.tanh) h.saturation = data.length ? saturated / data.length : 0;
  return h;
}

/**
 * The values at some percentiles (0–100) of `data`, for charts: 0 and 100 exact (min and max),
 * the others read off a 512-bin histogram (linear within the bin), so within 1/512 of the range
 * of the exact ones. Two passes, no sort: cheap enough for the trace's sampled steps. NaN for an
 * empty array.
 */
export function quantilesOf(data: TensorData, percentiles: readonly number[]): number[] {
  const n = data.length;
  if (n === 0) return percentiles.map(() => NaN);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = data[i];
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (!(hi > lo)) return percentiles.map(() => lo);
  const bins = 512, width = (hi - lo) / bins;
  const counts = new Uint32Array(bins);
  for (let i = 0; i < n; i++) counts[Math.min(bins - 1, Math.floor((data[i] - lo) / width))]++;
  return percentiles.map((p) => {
    if (p <= 0) return lo;
    if (p >= 100) return hi;
    const want = (p / 100) * n;
    let below = 0, k = 0;
    while (k < bins - 1 && below + counts[k] < want) below += counts[k++];
    return lo + (k + (counts[k] ? (want - below) / counts[k] : 0)) * width;
  });
}
