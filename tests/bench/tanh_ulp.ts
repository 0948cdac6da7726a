/**
 * `deno run -A tests/bench/tanh_ulp.ts [STRIDE]`: the float32 tanh kernel (kernels.wat, four
 * lanes) against Math.tanh rounded to float32 over every non-negative float32 (tanh is odd, and
 * the kernel takes |x|), or every STRIDE-th one; and against its JavaScript counterpart
 * (fastmath.ts's tanh32), which must give the same bits. Prints the histogram of errors in
 * units in the last place and the worst input. Not part of `deno task test` (about a minute).
 */
import { Tensor } from "../../ops/kernels/tensor.ts";
import { tanh } from "../../ops/kernels/elementwise.ts";
import { tanh32 } from "../../ops/kernels/fastmath.ts";

const stride = Number(Deno.args[0] ?? 1);
const bits = new Float32Array(1), word = new Int32Array(bits.buffer);
/** A float32's position on the number line, counted in float32 steps. */
const order = (v: number) => {
  bits[0] = v;
  return word[0] < 0 ? -2147483648 - word[0] : word[0];
};
const BATCH = 1 << 16;
const x = Tensor.owned([BATCH], "float32"), y = Tensor.owned([BATCH], "float32");
const xi = new Int32Array(x.data.buffer, x.data.byteOffset, BATCH);
const histogram = new Map<number, number>();
let worst = -1, worstX = 0, mismatches = 0, count = 0;
const INF = 0x7f800000;
for (let start = 0; start <= INF; start += BATCH * stride) {
  let n = 0;
  for (let b = start; n < BATCH && b <= INF; b += stride) xi[n++] = b;
  tanh(x, y);
  for (let i = 0; i < n; i++) {
    const v = x.data[i], got = y.data[i];
    if (!Object.is(got, tanh32(v))) mismatches++;
    const d = Math.abs(order(got) - order(Math.fround(Math.tanh(v))));
    histogram.set(d, (histogram.get(d) ?? 0) + 1);
    if (d > worst) [worst, worstX] = [d, v];
  }
  count += n;
}
console.log(JSON.stringify({
  inputs: count,
  stride,
  ulpHistogram: Object.fromEntries([...histogram].sort((a, b) => a[0] - b[0])),
  worstUlp: worst,
  worstAt: worstX,
  kernelVsJavaScriptMismatches: mismatches,
}));
