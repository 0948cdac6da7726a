/** Softmax and log-softmax along an axis, computed stably (the max is subtracted first). */
import type { Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { splitAt } from "./reduce.ts";
import { fastExp } from "./fastmath.ts";
import { softmaxRowsF32 } from "./simd.ts";

/** softmax(x) along `axis`; `log` gives log-softmax. */
export function softmax(x: Tensor, axis: number, log: boolean, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const [outer, n, inner] = splitAt(x.shape, axis);
  const s = x.data, o = res.data;
  if (inner === 1) {
    lastAxis(s, o, outer, n, log);
    return res;
  }
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      const at = (k: number) => (i * n + k) * inner + j;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, s[at(k)]);
      let z = 0;
      for (let k = 0; k < n; k++) z += Math.exp(s[at(k)] - m);
      const logz = Math.log(z);
      for (let k = 0; k < n; k++) o[at(k)] = log ? s[at(k)] - m - logz : Math.exp(s[at(k)] - m) / z;
    }
  }
  return res;
}

/** exp(x − max) of one row, in double, reused between rows. */
let scratch = new Float64Array(64);

/**
 * Softmax over contiguous rows (the last axis, as attention's): the same numbers as the general
 * loop (each exp taken once, in double, then divided by the row's sum), without its index
 * closure and second exp. A float32 result takes fastmath's exp (Math.exp is a call into C, and
 * attention's rows are short): its double differs from Math.exp's by under 1e-13 relative, so
 * the float32 result is the same but in rare near-ties (one unit in the last place).
 */
function lastAxis(
  s: Tensor["data"],
  o: Tensor["data"],
  outer: number,
  n: number,
  log: boolean,
): void {
  // The loops below on WebAssembly (the engine's float32 tensors, rows of a multiple of four).
  if (!log && o instanceof Float32Array && s instanceof Float32Array) {
    if (softmaxRowsF32(s, o, outer, n)) return;
  }
  if (scratch.length < n) scratch = new Float64Array(n);
  const e = scratch, exp = o instanceof Float32Array ? fastExp : Math.exp;
  for (let i = 0, base = 0; i < outer; i++, base += n) {
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, s[base + k]);
    let z = 0;
    for (let k = 0; k < n; k++) {
      // A masked entry (attention's −∞ above the diagonal) is exp(−∞) = 0, without the call.
      const d = s[base + k] - m;
      z += e[k] = d === -Infinity ? 0 : exp(d);
    }
    if (log) {
      const logz = Math.log(z);
      for (let k = 0; k < n; k++) o[base + k] = s[base + k] - m - logz;
    } else {
      for (let k = 0; k < n; k++) o[base + k] = e[k] / z;
    }
  }
}
