/** Gathers and scatters by integer indices: embedding lookups, picks, one-hot. */
import { NinjagradError } from "./errors.ts";
import { formatShape, type Shape, Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { gatherRowsF32, scatterAddRowsF32, SIMD_MIN } from "./simd.ts";

/** Throws when an index lies outside `[0, n)`. */
export function checkIndices(idx: Tensor, n: number, what: string): void {
  const d = idx.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= n || !Number.isInteger(d[i])) {
      throw new NinjagradError(`${what}: index ${d[i]} at position ${i} is outside 0..${n - 1}`);
    }
  }
}

/** `table[idx]`: one row of the table per index; the output shape is `idx.shape + [D]`. */
export function gatherRows(table: Tensor, idx: Tensor, out?: Tensor): Tensor {
  const d = table.shape[1];
  const res = out !== undefined && isRowsOf(out.shape, idx.shape, d)
    ? out
    : target(out, [...idx.shape, d], table);
  const t = table.data, o = res.data, ix = idx.data;
  // A copy: WebAssembly gives the same bits (its callers check the indices first).
  if (
    o.length >= SIMD_MIN && t instanceof Float32Array && o instanceof Float32Array &&
    ix instanceof Int32Array && inRange(ix, table.shape[0]) && gatherRowsF32(t, ix, o, d)
  ) return res;
  for (let i = 0; i < ix.length; i++) {
    const src = ix[i] * d, dst = i * d;
    for (let j = 0; j < d; j++) o[dst + j] = t[src + j];
  }
  return res;
}

/** Whether every index lies in [0, n). */
function inRange(ix: Int32Array, n: number): boolean {
  for (let i = 0; i < ix.length; i++) if (!(ix[i] >= 0 && ix[i] < n)) return false;
  return true;
}

/** Whether `shape` is `[...idx, d]`, allocating nothing. */
function isRowsOf(shape: Shape, idx: Shape, d: number): boolean {
  if (shape.length !== idx.length + 1 || shape[idx.length] !== d) return false;
  for (let i = 0; i < idx.length; i++) if (shape[i] !== idx[i]) return false;
  return true;
}

/**
 * The backward of `gatherRows`: each row of `g` is added into the table row it came from.
 * Indices repeat, so this must add, never assign.
 */
export function scatterAddRows(g: Tensor, idx: Tensor, tableShape: Shape): Tensor {
  const d = tableShape[1];
  const res = Tensor.zeros(tableShape, g.dtype);
  const o = res.data, s = g.data, ix = idx.data;
  // Float32 additions in the same order on WebAssembly: the same bits.
  if (
    s.length >= SIMD_MIN && s instanceof Float32Array && o instanceof Float32Array &&
    ix instanceof Int32Array && s.length === ix.length * d && inRange(ix, tableShape[0]) &&
    scatterAddRowsF32(s, ix, o, d)
  ) return res;
  for (let i = 0; i < ix.length; i++) {
    const dst = ix[i] * d, src = i * d;
    for (let j = 0; j < d; j++) o[dst + j] += s[src + j];
  }
  return res;
}

/** `x[range(n), idx]`: one entry per row of a 2-D tensor. */
export function pick(x: Tensor, idx: Tensor, out?: Tensor): Tensor {
  const n = x.shape[0], c = x.shape[1];
  const res = out !== undefined && out.shape.length === 1 && out.shape[0] === n
    ? out
    : target(out, [n], x);
  const o = res.data, s = x.data, ix = idx.data;
  for (let i = 0; i < n; i++) o[i] = s[i * c + ix[i]];
  return res;
}

/** The backward of `pick`: `g[i]` at `(i, idx[i])`, zeros elsewhere. */
export function unpick(g: Tensor, idx: Tensor, shape: Shape): Tensor {
  const res = Tensor.zeros(shape, g.dtype);
  const c = shape[1], out = res.data, at = idx.data, gd = g.data;
  for (let i = 0; i < shape[0]; i++) out[i * c + at[i]] = gd[i];
  return res;
}

/** One row per index with a 1 at the index. */
export function oneHot(
  idx: Tensor,
  classes: number,
  out?: Tensor,
  like: Tensor = Tensor.zeros([]),
): Tensor {
  // `like` is usually the logits, whose shape is the one wanted: no new shape array then.
  const shape = isRowsOf(like.shape, idx.shape, classes) ? like.shape : [...idx.shape, classes];
  const res = target(out, shape, like);
  res.data.fill(0);
  const o = res.data, ix = idx.data;
  for (let i = 0; i < ix.length; i++) o[i * classes + ix[i]] = 1;
  return res;
}

/** Checks that an index tensor is integer-valued, naming the op. */
export function checkIntTensor(shape: Shape, what: string, dtype: string): void {
  if (dtype !== "int32") {
    throw new NinjagradError(`${what} needs int32 indices, got ${dtype} ${formatShape(shape)}`);
  }
}
