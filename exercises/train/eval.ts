/**
 * The trained net in evaluation mode, as a plain fused loop over typed arrays (no graph, no
 * backprop): BatchNorm uses fixed statistics instead of the batch's. Computed in float64.
 *
 * The embedding followed by the first linear layer is C[x₀]·W1₀ + C[x₁]·W1₁ + … + b1, where W1ⱼ
 * is the block of W1's rows that position j's embedding meets. So C·W1ⱼ is tabulated once per
 * position (vocab × hidden) and each example's hprebn becomes `block` row lookups and adds.
 *
 * In eval mode an example's hidden layer and logits depend on its context alone, and most
 * contexts repeat (the lecture's 182,625 training examples have 5,438 distinct ones; two million
 * names have about 15,000): so the net runs once per distinct context, and each context counts
 * as often as it occurs (`contextGroups`). Same statistics and losses, summed in another order.
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

/**
 * Contexts run in chunks of up to 1024 rows, so no (contexts × hidden) array is ever held: a
 * chunk's buffer holds at most 2^20 values (8 MiB), however wide the layers.
 */
function chunkRows(s: Ex4Sizes): number {
  return Math.max(1, Math.min(1024, Math.floor(2 ** 20 / Math.max(s.hidden, s.vocab))));
}

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

/**
 * A set of examples by distinct context: `rows[k]` is an example with the k-th context, met
 * `count[k]` times; the targets that follow it are `targetY[targetStart[k] .. targetStart[k+1]]`,
 * each `targetCount` times.
 */
export interface ContextGroups {
  /** Examples in all. */
  n: number;
  rows: Int32Array;
  count: Float64Array;
  targetStart: Int32Array;
  targetY: Int32Array;
  targetCount: Float64Array;
}

/** Contexts are numbered through a table up to this many possible ones, else through a Map. */
const TABLE_MAX = 1 << 22;

const groupCache = new WeakMap<object, ContextGroups>();

/** The examples (all, or the listed rows) grouped by context; cached per examples and rows. */
export function contextGroups(ex: Examples, rows?: Int32Array): ContextGroups {
  const key = rows ?? ex;
  let groups = groupCache.get(key);
  if (groups === undefined) groupCache.set(key, groups = groupContexts(ex, rows));
  return groups;
}

/** Whether the `block` values of `X` from `a` and from `b` are the same. */
function sameRow(X: Int32Array, a: number, b: number, block: number): boolean {
  for (let j = 0; j < block; j++) if (X[a + j] !== X[b + j]) return false;
  return true;
}

function groupContexts(ex: Examples, rows?: Int32Array): ContextGroups {
  const n = rows ? rows.length : ex.n, block = ex.blockSize, X = ex.X, Y = ex.Y;
  let vocab = 1;
  for (let i = 0; i < X.length; i++) if (X[i] >= vocab) vocab = X[i] + 1;
  for (let i = 0; i < Y.length; i++) if (Y[i] >= vocab) vocab = Y[i] + 1;
  const codes = vocab ** block;
  const table = codes <= TABLE_MAX ? new Int32Array(codes).fill(-1) : undefined;
  const map = table ? undefined : new Map<number, number>();
  const group = new Int32Array(n), first: number[] = [];
  /** For hashed contexts: the group met before with the same hash. */
  const next: (number | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows ? rows[i] : i;
    let k: number | undefined;
    if (table) {
      let code = 0;
      for (let j = 0; j < block; j++) code = code * vocab + X[r * block + j];
      k = table[code];
      if (k < 0) table[code] = k = first.push(r) - 1;
    } else if (codes <= Number.MAX_SAFE_INTEGER) {
      const code = X.subarray(r * block, r * block + block).reduce((c, x) => c * vocab + x, 0);
      k = map!.get(code);
      if (k === undefined) map!.set(code, k = first.push(r) - 1);
    } else {
      // Past 2^53 codes are no longer exact numbers: a hash of the context, and the contexts
      // that share it compared value by value (no text per example: a long --block would make
      // gigabytes of it).
      const at = r * block;
      let h = 0x811c9dc5;
      for (let j = 0; j < block; j++) h = Math.imul(h ^ X[at + j], 0x01000193);
      k = map!.get(h);
      while (k !== undefined && !sameRow(X, at, first[k] * block, block)) k = next[k];
      if (k === undefined) {
        k = first.push(r) - 1;
        next.push(map!.get(h));
        map!.set(h, k);
      }
    }
    group[i] = k;
  }
  const groups = first.length;
  const count = new Float64Array(groups);
  for (let i = 0; i < n; i++) count[group[i]]++;
  // The examples ordered by group (a counting sort), then each group's targets counted.
  const start = new Int32Array(groups + 1);
  for (let k = 0; k < groups; k++) start[k + 1] = start[k] + count[k];
  const fill = start.slice(0, groups), order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[group[i]]++] = rows ? rows[i] : i;
  const targetStart = new Int32Array(groups + 1), ys: number[] = [], counts: number[] = [];
  const seen = new Float64Array(vocab), touched: number[] = [];
  for (let k = 0; k < groups; k++) {
    for (let p = start[k]; p < start[k + 1]; p++) {
      const y = Y[order[p]];
      if (seen[y]++ === 0) touched.push(y);
    }
    for (const y of touched) {
      ys.push(y);
      counts.push(seen[y]);
      seen[y] = 0;
    }
    touched.length = 0;
    targetStart[k + 1] = ys.length;
  }
  return {
    n,
    rows: Int32Array.from(first),
    count,
    targetStart,
    targetY: Int32Array.from(ys),
    targetCount: Float64Array.from(counts),
  };
}

/**
 * BatchNorm statistics over a set of examples (all of them by default), as the lecture
 * re-estimates them after training: mean and unbiased variance of hprebn over the examples.
 */
export function bnStatistics(w: Ex4Weights, s: Ex4Sizes, ex: Examples, rows?: Int32Array): BnStats {
  return drain(bnStatisticsSteps(w, s, ex, rows));
}

/** {@link bnStatistics}, yielding to the event loop about every `sliceMs` milliseconds. */
export function bnStatisticsAsync(
  w: Ex4Weights,
  s: Ex4Sizes,
  ex: Examples,
  rows?: Int32Array,
  sliceMs = 50,
): Promise<BnStats> {
  return drainAsync(bnStatisticsSteps(w, s, ex, rows), sliceMs);
}

/** The work of bnStatistics, a chunk of contexts per `yield`. */
function* bnStatisticsSteps(
  w: Ex4Weights,
  s: Ex4Sizes,
  ex: Examples,
  rows?: Int32Array,
): Generator<void, BnStats> {
  const { hidden } = s;
  const tables = positionTables(w, s);
  const groups = contextGroups(ex, rows), n = groups.n, g = groups.rows.length;
  const rowOf = (i: number) => groups.rows[i];
  const chunk = chunkRows(s);
  const buf = new Float64Array(chunk * hidden);
  const mean = new Float64Array(hidden), variance = new Float64Array(hidden);
  // Two passes (mean, then squared deviations): exact enough in float64, unlike Σx² − n·mean².
  for (const pass of [0, 1]) {
    for (let start = 0; start < g; start += chunk) {
      const count = Math.min(chunk, g - start);
      hprebnRows(tables, s, ex.X, rowOf, start, count, buf);
      for (let i = 0; i < count; i++) {
        const times = groups.count[start + i];
        for (let u = 0; u < hidden; u++) {
          const x = buf[i * hidden + u];
          if (pass === 0) mean[u] += times * x;
          else variance[u] += times * (x - mean[u]) ** 2;
        }
      }
      yield;
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
    this.#h = new Float64Array(chunkRows(s) * s.hidden);
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
    return drain(this.lossSteps(ex, rows));
  }

  /** {@link loss}, yielding to the event loop about every `sliceMs` milliseconds. */
  lossAsync(ex: Examples, rows?: Int32Array, sliceMs = 50): Promise<number> {
    return drainAsync(this.lossSteps(ex, rows), sliceMs);
  }

  /** The work of `loss`, a chunk of contexts per `yield`. */
  *lossSteps(ex: Examples, rows?: Int32Array): Generator<void, number> {
    const { vocab } = this.#s;
    const groups = contextGroups(ex, rows), g = groups.rows.length;
    const rowOf = (i: number) => groups.rows[i];
    const chunk = chunkRows(this.#s);
    const logits = new Float64Array(chunk * vocab);
    let total = 0;
    for (let start = 0; start < g; start += chunk) {
      const count = Math.min(chunk, g - start);
      this.logits(ex.X, rowOf, start, count, logits);
      for (let i = 0; i < count; i++) {
        const o = i * vocab, k = start + i;
        let m = -Infinity;
        for (let c = 0; c < vocab; c++) m = Math.max(m, logits[o + c]);
        let z = 0;
        for (let c = 0; c < vocab; c++) z += Math.exp(logits[o + c] - m);
        const lse = m + Math.log(z);
        for (let p = groups.targetStart[k]; p < groups.targetStart[k + 1]; p++) {
          total += groups.targetCount[p] * (lse - logits[o + groups.targetY[p]]);
        }
      }
      yield;
    }
    return total / groups.n;
  }
}

/** Runs a generator of work to its end and returns its result. */
function drain<T>(work: Generator<void, T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

/** Runs a generator of work, letting the event loop in about every `sliceMs` milliseconds. */
async function drainAsync<T>(work: Generator<void, T>, sliceMs: number): Promise<T> {
  let since = performance.now();
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (performance.now() - since >= sliceMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      since = performance.now();
    }
  }
}
