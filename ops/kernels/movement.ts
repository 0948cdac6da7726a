/**
 * Kernels of the ops that move or mask elements without arithmetic (expand, roll, tril/triu,
 * masked_fill) and of the ops that find or gather by index (argmax, topk, gather). A move is
 * an index map: for each output element, the flat index of the input element it reads, made
 * once per shape and kept by the op's forward; its backward scatters `g` through the same map.
 */
import { NinjagradError } from "./errors.ts";
import {
  formatShape,
  overwritten,
  type Shape,
  sizeOf,
  stridesOf,
  Tensor,
  type TensorData,
} from "./tensor.ts";
import { splitAt } from "./reduce.ts";
import { maskedFillF32, SIMD_MIN } from "./simd.ts";

/** out[i] = x[from[i]]: an index map applied (expand, roll). */
export function take(x: Tensor, from: Int32Array, out: Tensor): void {
  const s = x.data, o = out.data;
  for (let i = 0; i < from.length; i++) o[i] = s[from[i]];
}

/** The backward of `take`: g[i] summed into dx[from[i]] (a broadcast read sums its copies). */
export function untake(g: Tensor, from: Int32Array, shape: Shape): Tensor {
  const res = Tensor.zeros(shape, g.dtype);
  const s = g.data, o = res.data;
  for (let i = 0; i < from.length; i++) o[from[i]] += s[i];
  return res;
}

/**
 * The index map of torch.roll: along each axis in `dims`, output position j reads input
 * position (j − shift) mod n; with no dims, the flattened tensor is rolled by `shifts[0]`.
 */
export function rollMap(
  shape: Shape,
  shifts: readonly number[],
  dims: readonly number[],
): Int32Array {
  const n = sizeOf(shape), map = new Int32Array(n);
  if (dims.length === 0) {
    const s = n === 0 ? 0 : ((shifts[0] % n) + n) % n;
    for (let i = 0; i < n; i++) map[i] = (i - s + n) % n;
    return map;
  }
  const rank = shape.length, strides = stridesOf(shape);
  const shift = new Array<number>(rank).fill(0);
  dims.forEach((d, k) => (shift[d] = (shift[d] + shifts[k]) % Math.max(shape[d], 1)));
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let from = 0;
    for (let a = 0; a < rank; a++) {
      const len = shape[a];
      from += (((index[a] - shift[a]) % len) + len) % len * strides[a];
    }
    map[i] = from;
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
  return map;
}

/**
 * x with the elements above (`lower`: tril) or below (triu) diagonal `k` of its last two axes
 * set to 0: tril keeps column − row ≤ k, triu keeps column − row ≥ k.
 */
export function triangle(x: Tensor, k: number, lower: boolean, out?: Tensor): Tensor {
  const shape = x.shape, rank = shape.length;
  if (rank < 2) {
    throw new NinjagradError(
      `${lower ? "tril" : "triu"} needs at least 2 axes, got ${formatShape(shape)}`,
    );
  }
  const res = out ?? overwritten(shape, x.dtype);
  const rows = shape[rank - 2], cols = shape[rank - 1], s = x.data, o = res.data;
  for (let base = 0; base < s.length; base += rows * cols) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0, at = base + r * cols; c < cols; c++, at++) {
        const keep = lower ? c - r <= k : c - r >= k;
        o[at] = keep ? s[at] : 0;
      }
    }
  }
  return res;
}

/** x where mask (read through `maskAt`, the broadcast index map) is 0, else `value`. */
export function maskedFill(
  x: Tensor,
  mask: Tensor,
  maskAt: Int32Array,
  value: number,
  out: Tensor,
): void {
  const s = x.data, m = mask.data, o = out.data;
  if (repeats(mask, x)) {
    if (selectF32(s, m, value, o)) return;
    for (let base = 0, w = m.length; base < s.length; base += w) {
      for (let j = 0; j < w; j++) o[base + j] = m[j] !== 0 ? value : s[base + j];
    }
    return;
  }
  for (let i = 0; i < s.length; i++) o[i] = m[maskAt[i]] !== 0 ? value : s[i];
}

/**
 * The repeating mask's select on WebAssembly (maskedFillF32: lanes, no branch to mispredict) for
 * float32 data of at least SIMD_MIN values (`value` rounds to float32 there as a store into o
 * rounds it); false otherwise.
 */
function selectF32(s: TensorData, m: TensorData, value: number, o: TensorData): boolean {
  return s instanceof Float32Array && o instanceof Float32Array && s.length >= SIMD_MIN &&
    !(m instanceof Float64Array) && maskedFillF32(s, m, value, o);
}

/**
 * Whether the mask is x's trailing axes (leading 1s aside), so that it repeats every
 * mask.size elements of x (attention's (T, T) mask under (B, nh)): loops need no index map.
 */
function repeats(mask: Tensor, x: Tensor): boolean {
  const ms = mask.shape, xs = x.shape;
  let lead = 0;
  while (lead < ms.length && ms[lead] === 1) lead++;
  const rest = ms.length - lead;
  if (rest > xs.length || mask.size === 0) return false;
  for (let i = 1; i <= rest; i++) if (ms[ms.length - i] !== xs[xs.length - i]) return false;
  return true;
}

/** g where the mask is 0, else 0: masked_fill's rule for x. */
export function maskedFillBackward(g: Tensor, mask: Tensor, maskAt: Int32Array): Tensor {
  const res = overwritten(g.shape, g.dtype);
  const s = g.data, m = mask.data, o = res.data;
  if (repeats(mask, g)) {
    if (selectF32(s, m, 0, o)) return res;
    for (let base = 0, w = m.length; base < s.length; base += w) {
      for (let j = 0; j < w; j++) o[base + j] = m[j] !== 0 ? 0 : s[base + j];
    }
    return res;
  }
  for (let i = 0; i < s.length; i++) o[i] = m[maskAt[i]] !== 0 ? 0 : s[i];
  return res;
}

/**
 * The index of the largest element along `axis` (of all, flattened, for null), into an int32
 * `out`; the first one at a tie, and a NaN counts as the largest (as torch.argmax).
 */
export function argmax(x: Tensor, axis: number | null, out: Tensor): void {
  const [outer, n, inner] = splitAt(x.shape, axis);
  const s = x.data, o = out.data;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      const base = i * n * inner + j;
      let best = 0, bestValue = s[base];
      for (let k = 1; k < n && bestValue === bestValue; k++) {
        const v = s[base + k * inner];
        if (v > bestValue || v !== v) best = k, bestValue = v;
      }
      o[i * inner + j] = best;
    }
  }
}

/**
 * The indices of the k largest (or smallest) elements along `axis`, into an int32 `out` whose
 * `axis` has length k, in order from the largest (smallest); a tie keeps the lower index first.
 */
export function topkIndices(x: Tensor, k: number, axis: number, largest: boolean, out: Tensor) {
  const [outer, n, inner] = splitAt(x.shape, axis);
  const s = x.data, o = out.data, order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      const base = i * n * inner + j;
      for (let m = 0; m < n; m++) order[m] = m;
      order.sort((a, b) => {
        const va = s[base + a * inner], vb = s[base + b * inner];
        const d = largest ? vb - va : va - vb;
        return d > 0 ? 1 : d < 0 ? -1 : a - b;
      });
      for (let m = 0; m < k; m++) o[i * k * inner + m * inner + j] = order[m];
    }
  }
}

/**
 * The index map of torch.gather(x, axis, index): output element at (…, i, …) reads x at the
 * same position with `axis` replaced by index's value there. Throws for an index out of range.
 */
export function gatherMap(xShape: Shape, axis: number, index: Tensor): Int32Array {
  const shape = index.shape, rank = shape.length, n = index.size, map = new Int32Array(n);
  const strides = stridesOf(xShape), len = xShape[axis], idx = index.data;
  const pos = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    const v = idx[i];
    if (!(v >= 0 && v < len)) {
      throw new NinjagradError(
        `gather: index ${v} at position ${i} is outside 0..${len - 1} (axis ${axis} of ${
          formatShape(xShape)
        })`,
      );
    }
    let from = 0;
    for (let a = 0; a < rank; a++) from += (a === axis ? v : pos[a]) * strides[a];
    map[i] = from;
    for (let a = rank - 1; a >= 0; a--) {
      if (++pos[a] < shape[a]) break;
      pos[a] = 0;
    }
  }
  return map;
}
