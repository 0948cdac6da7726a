/** Softmax and log-softmax along an axis, computed stably (the max is subtracted first). */
import type { Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";
import { splitAt } from "./reduce.ts";

/** softmax(x) along `axis`; `log` gives log-softmax. */
export function softmax(x: Tensor, axis: number, log: boolean, out?: Tensor): Tensor {
  const res = target(out, x.shape, x);
  const [outer, n, inner] = splitAt(x.shape, axis);
  const s = x.data, o = res.data;
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
