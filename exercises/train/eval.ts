/**
 * The trained net in evaluation mode, as a plain fused loop over typed arrays (no graph, no
 * backprop): BatchNorm uses fixed statistics instead of the batch's. Computed in float64.
 *
 * The embedding followed by the first linear layer is C[x₀]·W1₀ + C[x₁]·W1₁ + … + b1, where W1ⱼ
 * is the block of W1's rows that position j's embedding meets. So C·W1ⱼ is tabulated once per
 * position (vocab × hidden) and each example's hprebn becomes `block` row lookups and adds.
 */
import type { Examples } from "../data.ts";
import type { Ex4Sizes, Ex4Weights } from "../model/ex4.ts";

/** BatchNorm statistics of hprebn, one per hidden unit: the mean and the unbiased variance. */
export interface BnStats {
  mean: Float64Array;
  var: Float64Array;
}

/** The lecture's BatchNorm epsilon. */
export const BN_EPS = 1e-5;

/** Examples read in chunks of this many rows, so no (examples × hidden) array is ever held. */
const CHUNK = 1024;

/** (block, vocab, hidden): row (j, v) is C[v] @ W1ⱼ, plus b1 folded into position 0. */
function positionTables(w: Ex4Weights, s: Ex4Sizes): Float64Array {
  const { vocab, embd, block, hidden } = s;
  const tables = new Float64Array(block * vocab * hidden);
  for (let j = 0; j < block; j++) {
    for (let v = 0; v < vocab; v++) {
      const row = (j * vocab + v) * hidden;
      if (j === 0) { for (let u = 0; u < hidden; u++) tables[row + u] = w.b1[u]; }
      for (let e = 0; e < embd; e++) {
        const c = w.C[v * embd + e], wr = (j * embd + e) * hidden;
        for (let u = 0; u < hidden; u++) tables[row + u] += c * w.W1[wr + u];
      }
    }
  }
  return tables;
}

/** Writes hprebn of `count` examples (contexts `X`, rows `pick(i)`) into `out` (count × hidden). */
function hprebnRows(
  tables: Float64Array,
  s: Ex4Sizes,
  X: Int32Array,
  rowOf: (i: number) => number,
  start: number,
  count: number,
  out: Float64Array,
): void {
  const { vocab, block, hidden } = s;
  for (let i = 0; i < count; i++) {
    const r = rowOf(start + i), o = i * hidden;
    out.fill(0, o, o + hidden);
    for (let j = 0; j < block; j++) {
      const t = (j * vocab + X[r * block + j]) * hidden;
      for (let u = 0; u < hidden; u++) out[o + u] += tables[t + u];
    }
  }
}

/** Which examples to use: all of them, or the listed rows. */
function selection(ex: Examples, rows?: Int32Array): [number, (i: number) => number] {
  return rows ? [rows.length, (i) => rows[i]] : [ex.n, (i) => i];
}

/**
 * BatchNorm statistics over a set of examples (all of them by default), as the lecture
 * re-estimates them after training: mean and unbiased variance of hprebn over the examples.
 */
export function bnStatistics(w: Ex4Weights, s: Ex4Sizes, ex: Examples, rows?: Int32Array): BnStats {
  const { hidden } = s;
  const tables = positionTables(w, s);
  const [n, rowOf] = selection(ex, rows);
  const buf = new Float64Array(CHUNK * hidden);
  const mean = new Float64Array(hidden), variance = new Float64Array(hidden);
  // Two passes (mean, then squared deviations): exact enough in float64, unlike Σx² − n·mean².
  for (const pass of [0, 1]) {
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      hprebnRows(tables, s, ex.X, rowOf, start, count, buf);
      for (let i = 0; i < count; i++) {
        for (let u = 0; u < hidden; u++) {
          const x = buf[i * hidden + u];
          if (pass === 0) mean[u] += x;
          else variance[u] += (x - mean[u]) ** 2;
        }
      }
    }
    if (pass === 0) { for (let u = 0; u < hidden; u++) mean[u] /= n; }
  }
  for (let u = 0; u < hidden; u++) variance[u] /= n - 1;
  return { mean, var: variance };
}

/** The net in eval mode: logits of any context, and mean cross-entropy over a set of examples. */
export class EvalNet {
  readonly #w: Ex4Weights;
  readonly #s: Ex4Sizes;
  readonly #tables: Float64Array;
  /** bngain / sqrt(var + eps) and bnbias − mean·that: BatchNorm folded into one multiply-add. */
  readonly #scale: Float64Array;
  readonly #shift: Float64Array;
  readonly #h: Float64Array;

  constructor(w: Ex4Weights, s: Ex4Sizes, bn: BnStats) {
    this.#w = w;
    this.#s = s;
    this.#tables = positionTables(w, s);
    this.#scale = new Float64Array(s.hidden);
    this.#shift = new Float64Array(s.hidden);
    for (let u = 0; u < s.hidden; u++) {
      this.#scale[u] = w.bngain[u] / Math.sqrt(bn.var[u] + BN_EPS);
      this.#shift[u] = w.bnbias[u] - bn.mean[u] * this.#scale[u];
    }
    this.#h = new Float64Array(CHUNK * s.hidden);
  }

  /**
   * Logits of `count` examples into `out` (count × vocab): hprebn, fixed-statistics BatchNorm,
   * tanh, then h @ W2 + b2.
   */
  logits(
    X: Int32Array,
    rowOf: (i: number) => number,
    start: number,
    count: number,
    out: Float64Array,
  ): void {
    const { hidden, vocab } = this.#s;
    const h = this.#h, W2 = this.#w.W2, b2 = this.#w.b2;
    hprebnRows(this.#tables, this.#s, X, rowOf, start, count, h);
    for (let i = 0; i < count; i++) {
      const o = i * vocab, hr = i * hidden;
      for (let c = 0; c < vocab; c++) out[o + c] = b2[c];
      for (let u = 0; u < hidden; u++) {
        const hu = Math.tanh(h[hr + u] * this.#scale[u] + this.#shift[u]);
        const wr = u * vocab;
        for (let c = 0; c < vocab; c++) out[o + c] += hu * W2[wr + c];
      }
    }
  }

  /** Mean cross-entropy over the examples (or the listed rows), as the lecture's split_loss. */
  loss(ex: Examples, rows?: Int32Array): number {
    const { vocab } = this.#s;
    const [n, rowOf] = selection(ex, rows);
    const logits = new Float64Array(CHUNK * vocab);
    let total = 0;
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      this.logits(ex.X, rowOf, start, count, logits);
      for (let i = 0; i < count; i++) {
        const o = i * vocab;
        let m = -Infinity;
        for (let c = 0; c < vocab; c++) m = Math.max(m, logits[o + c]);
        let z = 0;
        for (let c = 0; c < vocab; c++) z += Math.exp(logits[o + c] - m);
        total += m + Math.log(z) - logits[o + ex.Y[rowOf(start + i)]];
      }
    }
    return total / n;
  }
}
