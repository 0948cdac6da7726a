/**
 * Elementwise kernels over typed arrays, broadcasting included. Op records call these for their
 * forward and their rules; a faster kernel replaces a loop here without touching any rule.
 */
import { NinjagradError } from "../../graph/errors.ts";
import { formatShape, sameShape, sizeOf, Tensor } from "../../graph/tensor.ts";
import { broadcastShape, broadcastStrides, forEachBroadcast } from "./broadcast.ts";

/** A tensor or a plain number standing for a scalar. */
export type Operand = Tensor | number;

function asTensor(x: Operand, like: Tensor): Tensor {
  return typeof x === "number" ? Tensor.scalar(x, like.dtype) : x;
}

/** `out` if it has the wanted shape, else a new zero tensor of that shape. */
export function target(out: Tensor | undefined, shape: readonly number[], like: Tensor): Tensor {
  if (out) {
    if (!sameShape(out.shape, shape)) {
      throw new NinjagradError(
        `output buffer ${formatShape(out.shape)} does not fit ${formatShape(shape)}`,
      );
    }
    return out;
  }
  return Tensor.zeros(shape, like.dtype === "int32" ? "float32" : like.dtype);
}

/** Builds a broadcasting binary kernel from a scalar function. */
export function binaryKernel(f: (x: number, y: number) => number) {
  return (a: Operand, b: Operand, out?: Tensor): Tensor => {
    const like = typeof a === "number" ? (b as Tensor) : a;
    const ta = asTensor(a, like), tb = asTensor(b, like);
    const shape = sameShape(ta.shape, tb.shape) ? ta.shape : broadcastShape(ta.shape, tb.shape);
    const res = target(out, shape, like);
    const x = ta.data, y = tb.data, o = res.data;
    const n = sizeOf(shape);
    if (x.length === n && y.length === n) {
      for (let i = 0; i < n; i++) o[i] = f(x[i], y[i]);
    } else if (y.length === 1 && x.length === n) {
      const s = y[0];
      for (let i = 0; i < n; i++) o[i] = f(x[i], s);
    } else if (x.length === 1 && y.length === n) {
      const s = x[0];
      for (let i = 0; i < n; i++) o[i] = f(s, y[i]);
    } else {
      forEachBroadcast(
        shape,
        broadcastStrides(ta.shape, shape),
        broadcastStrides(tb.shape, shape),
        (i, ia, ib) => {
          o[i] = f(x[ia], y[ib]);
        },
      );
    }
    return res;
  };
}

/** Builds a unary kernel from a scalar function. */
export function unaryKernel(f: (x: number) => number) {
  return (a: Tensor, out?: Tensor): Tensor => {
    const res = target(out, a.shape, a);
    const x = a.data, o = res.data;
    for (let i = 0; i < x.length; i++) o[i] = f(x[i]);
    return res;
  };
}

/** a + b */
export const add = binaryKernel((x, y) => x + y);
/** a − b */
export const sub = binaryKernel((x, y) => x - y);
/** a · b */
export const mul = binaryKernel((x, y) => x * y);
/** a / b */
export const div = binaryKernel((x, y) => x / y);
/** −a */
export const neg = unaryKernel((x) => -x);
/** eᵃ */
export const exp = unaryKernel(Math.exp);
/** ln a */
export const log = unaryKernel(Math.log);
/** tanh a */
export const tanh = unaryKernel(Math.tanh);
/** aᵖ for a scalar exponent p. */
export function pow(a: Tensor, p: number, out?: Tensor): Tensor {
  if (p === 2) return unaryKernel((x) => x * x)(a, out);
  if (p === -1) return unaryKernel((x) => 1 / x)(a, out);
  if (p === -0.5) return unaryKernel((x) => 1 / Math.sqrt(x))(a, out);
  return unaryKernel((x) => x ** p)(a, out);
}
/** 1 − a², tanh's local derivative written in terms of its output. */
export const oneMinusSquare = unaryKernel((x) => 1 - x * x);
/** Copies `a` into `out` (or a new tensor). */
export const copy = unaryKernel((x) => x);
