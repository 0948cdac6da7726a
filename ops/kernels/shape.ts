/** Reshapes and transposes. */
import { NinjagradError } from "./errors.ts";
import { formatShape, type Shape, sizeOf, type Tensor } from "./tensor.ts";
import { target } from "./elementwise.ts";

/** Resolves a `-1` in a requested shape and checks the element count. */
export function resolveShape(from: Shape, to: Shape): number[] {
  const known = to.filter((d) => d !== -1);
  const free = to.length - known.length;
  if (free > 1) {
    throw new NinjagradError(`reshape to ${formatShape(to)}: at most one axis may be -1`);
  }
  const shape = to.map((d) => (d === -1 ? sizeOf(from) / sizeOf(known) : d));
  if (sizeOf(shape) !== sizeOf(from) || shape.some((d) => !Number.isInteger(d))) {
    throw new NinjagradError(
      `cannot view ${formatShape(from)} (${sizeOf(from)} elements) as ${formatShape(to)}`,
    );
  }
  return shape;
}

/** The 2-D transpose, copied into `out`. */
export function transpose2d(x: Tensor, out?: Tensor): Tensor {
  if (x.shape.length !== 2) {
    throw new NinjagradError(`transpose needs a 2-D tensor, got ${formatShape(x.shape)}`);
  }
  const [r, c] = x.shape;
  const res = target(out, [c, r], x);
  // Each read of `data` counts a possible write (tensor.ts): read it once, not per element.
  const to = res.data, from = x.data;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) to[j * r + i] = from[i * c + j];
  return res;
}
