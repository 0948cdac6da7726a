/**
 * `deno run -A tests/bench/pow_ulp.ts [STRIDE]`: the float32 pow kernel's x^−1.5 (elementwise.ts:
 * 1/(x·√x), for x^−½'s rule) against x ** −1.5 rounded to float32, over every float32 (every
 * STRIDE-th one). Prints the count of differences and the first few; the kernel promises none.
 * Not part of `deno task test` (about a minute).
 */
import { Tensor } from "../../ops/kernels/tensor.ts";
import { pow } from "../../ops/kernels/elementwise.ts";

const stride = Number(Deno.args[0] ?? 1);
const BATCH = 1 << 16;
const x = new Tensor(new Float32Array(BATCH), [BATCH]),
  y = new Tensor(new Float32Array(BATCH), [BATCH]);
const xi = new Uint32Array(x.data.buffer);
let differences = 0, count = 0;
for (let start = 0; start < 2 ** 32; start += BATCH * stride) {
  let n = 0;
  for (let b = start; n < BATCH && b < 2 ** 32; b += stride) xi[n++] = b;
  pow(x, -1.5, y);
  for (let i = 0; i < n; i++) {
    const want = Math.fround(x.data[i] ** -1.5);
    if (!Object.is(y.data[i], want) && !(Number.isNaN(want) && Number.isNaN(y.data[i]))) {
      if (differences++ < 10) console.log(`x = ${x.data[i]}: ${y.data[i]}, want ${want}`);
    }
  }
  count += n;
}
console.log(`${count} float32 values, ${differences} differences`);
if (differences > 0) Deno.exit(1);
