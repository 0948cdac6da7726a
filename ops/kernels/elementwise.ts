/**
 * Elementwise kernels over typed arrays, broadcasting included. Op records call these for their
 * forward and their rules; a faster kernel replaces a loop here without touching any rule.
 *
 * Each op has its own loops (a loop that calls a per-op function cannot be inlined once it has
 * seen several ops), and the broadcasts the lecture's graphs use — a scalar, a row `(1, n)` or
 * `(n)` against `(m, n)`, a column `(m, 1)` against `(m, n)` — run as plain nested loops.
 */
import { NinjagradError } from "./errors.ts";
import { formatShape, overwritten, sameShape, type Shape, type TensorData } from "./tensor.ts";
import { Tensor } from "./tensor.ts";
import { broadcastShape, broadcastsTo, broadcastStrides, forEachBroadcast } from "./broadcast.ts";
import { fastExp, fastLog, tanh32 } from "./fastmath.ts";
import {
  ewF32,
  type EwOp,
  expF32,
  logF32,
  mulOneMinusSquareF32,
  scalarF32,
  sgdF32,
  SIMD_MIN,
  tanhF32,
  unaryF32,
} from "./simd.ts";

/** A tensor or a plain number standing for a scalar. */
export type Operand = Tensor | number;

/**
 * `out` if it has the wanted shape, else a new tensor of that shape (zeros, or in a reusing
 * backward pass a recycled tensor as it is): every kernel that calls this writes every element.
 */
export function target(out: Tensor | undefined, shape: Shape, like: Tensor): Tensor {
  if (out) {
    if (!sameShape(out.shape, shape)) {
      throw new NinjagradError(
        `output buffer ${formatShape(out.shape)} does not fit ${formatShape(shape)}`,
      );
    }
    return out;
  }
  return overwritten(shape, like.dtype === "int32" ? "float32" : like.dtype);
}

const ADD = 0, SUB = 1, MUL = 2, DIV = 3;
type BinaryOp = typeof ADD | typeof SUB | typeof MUL | typeof DIV;

/** The WebAssembly op for `x op y`, or for `y op x` when `left` (y is the left operand). */
const swapped = (op: BinaryOp, left: boolean): EwOp =>
  left && op === SUB ? 4 : left && op === DIV ? 5 : op;

/** Whether all three arrays are float32, the case the WebAssembly kernels serve. */
function f32s(x: TensorData, y: TensorData, o: TensorData): boolean {
  return x instanceof Float32Array && y instanceof Float32Array && o instanceof Float32Array;
}
const SCALAR_FNS = [
  (x: number, y: number) => x + y,
  (x: number, y: number) => x - y,
  (x: number, y: number) => x * y,
  (x: number, y: number) => x / y,
];

/** o = x op y, elementwise, same length. */
function same(op: BinaryOp, x: TensorData, y: TensorData, o: TensorData, n: number): void {
  if (n >= SIMD_MIN && f32s(x, y, o) && ewF32(op, x, y, o, 1, n, 0, 1)) return;
  if (op === ADD) { for (let i = 0; i < n; i++) o[i] = x[i] + y[i]; }
  else if (op === SUB) { for (let i = 0; i < n; i++) o[i] = x[i] - y[i]; }
  else if (op === MUL) { for (let i = 0; i < n; i++) o[i] = x[i] * y[i]; }
  else for (let i = 0; i < n; i++) o[i] = x[i] / y[i];
}

/**
 * o = x op s (right) or s op x (left), for a scalar s. A number meets a float32 tensor as a
 * float32 (as `1 / (n - 1) * x` does in PyTorch), so it is rounded first.
 */
function scalar(
  op: BinaryOp,
  x: TensorData,
  number: number,
  o: TensorData,
  n: number,
  left: boolean,
): void {
  const s = o instanceof Float32Array ? Math.fround(number) : number;
  if (n >= SIMD_MIN && f32s(x, x, o) && scalarF32(swapped(op, left), x, s, o)) return;
  if (op === ADD) { for (let i = 0; i < n; i++) o[i] = x[i] + s; }
  else if (op === MUL) { for (let i = 0; i < n; i++) o[i] = x[i] * s; }
  else if (op === SUB) {
    if (left) { for (let i = 0; i < n; i++) o[i] = s - x[i]; }
    else for (let i = 0; i < n; i++) o[i] = x[i] - s;
  } else if (left) { for (let i = 0; i < n; i++) o[i] = s / x[i]; }
  else for (let i = 0; i < n; i++) o[i] = x[i] / s;
}

/**
 * Row broadcast: `full` is (rows, width) row-major, `row` has `width` entries reused for every
 * row. `left` says the row is the left operand (row op full).
 */
function rowwise(
  op: BinaryOp,
  full: TensorData,
  row: TensorData,
  o: TensorData,
  rows: number,
  width: number,
  left: boolean,
): void {
  if (rows * width >= SIMD_MIN && f32s(full, row, o)) {
    if (ewF32(swapped(op, left), full, row, o, rows, width, 0, 1)) return;
  }
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    if (op === ADD) { for (let j = 0; j < width; j++) o[base + j] = full[base + j] + row[j]; }
    else if (op === MUL) { for (let j = 0; j < width; j++) o[base + j] = full[base + j] * row[j]; }
    else if (op === SUB) {
      if (left) { for (let j = 0; j < width; j++) o[base + j] = row[j] - full[base + j]; }
      else for (let j = 0; j < width; j++) o[base + j] = full[base + j] - row[j];
    } else if (left) { for (let j = 0; j < width; j++) o[base + j] = row[j] / full[base + j]; }
    else for (let j = 0; j < width; j++) o[base + j] = full[base + j] / row[j];
  }
}

/** Column broadcast: `col` has one entry per row of `full` (rows, width). */
function colwise(
  op: BinaryOp,
  full: TensorData,
  col: TensorData,
  o: TensorData,
  rows: number,
  width: number,
  left: boolean,
): void {
  if (rows * width >= SIMD_MIN && f32s(full, col, o)) {
    if (ewF32(swapped(op, left), full, col, o, rows, width, 1, 0)) return;
  }
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    const s = col[r], end = base + width;
    if (op === ADD) { for (let i = base; i < end; i++) o[i] = full[i] + s; }
    else if (op === MUL) { for (let i = base; i < end; i++) o[i] = full[i] * s; }
    else if (op === SUB) {
      if (left) { for (let i = base; i < end; i++) o[i] = s - full[i]; }
      else for (let i = base; i < end; i++) o[i] = full[i] - s;
    } else if (left) { for (let i = base; i < end; i++) o[i] = s / full[i]; }
    else for (let i = base; i < end; i++) o[i] = full[i] / s;
  }
}

/** Whether `small` is `big`'s trailing axes, with only 1s (or nothing) before them. */
function isRowOf(small: Shape, big: Shape): number {
  let lead = 0;
  while (lead < small.length && small[lead] === 1) lead++;
  const tail = small.length - lead;
  if (tail === 0 || tail > big.length) return 0;
  for (let i = 0; i < tail; i++) if (small[lead + i] !== big[big.length - tail + i]) return 0;
  let width = 1;
  for (let i = lead; i < small.length; i++) width *= small[i];
  return width;
}

/** Whether `small` is `big` (2-D or more) with its last axis 1: one value per row. */
function isColOf(small: Shape, big: Shape): boolean {
  if (small.length !== big.length || big.length < 2) return false;
  if (small[small.length - 1] !== 1) return false;
  for (let i = 0; i < big.length - 1; i++) if (small[i] !== big[i]) return false;
  return true;
}

function binary(op: BinaryOp, a: Operand, b: Operand, out: Tensor | undefined): Tensor {
  if (typeof a === "number") {
    if (typeof b === "number") {
      throw new NinjagradError("an elementwise kernel needs at least one tensor operand");
    }
    const res = target(out, b.shape, b);
    scalar(op, b.data, a, res.data, b.size, true);
    return res;
  }
  if (typeof b === "number") {
    const res = target(out, a.shape, a);
    scalar(op, a.data, b, res.data, a.size, false);
    return res;
  }
  const x = a.data, y = b.data;
  if (sameShape(a.shape, b.shape)) {
    const res = target(out, a.shape, a);
    same(op, x, y, res.data, x.length);
    return res;
  }
  // An output buffer of the right shape (the graph's forward always gives one) is taken as it
  // is; the broadcast shape is made only when one must be allocated or an error reported.
  const res = out !== undefined
    ? broadcastsTo(a.shape, b.shape, out.shape)
      ? out
      : target(out, broadcastShape(a.shape, b.shape), a)
    : target(undefined, broadcastResult(a.shape, b.shape), a);
  const shape = res.shape, o = res.data, n = o.length;
  if (x.length === n) {
    if (y.length === 1) return scalar(op, x, y[0], o, n, false), res;
    const width = isRowOf(b.shape, shape);
    if (width) return rowwise(op, x, y, o, n / width, width, false), res;
    if (isColOf(b.shape, shape)) {
      return colwise(op, x, y, o, y.length, n / y.length, false), res;
    }
  } else if (y.length === n) {
    if (x.length === 1) return scalar(op, y, x[0], o, n, true), res;
    const width = isRowOf(a.shape, shape);
    if (width) return rowwise(op, y, x, o, n / width, width, true), res;
    if (isColOf(a.shape, shape)) {
      return colwise(op, y, x, o, x.length, n / x.length, true), res;
    }
  }
  anyBroadcast(op, a, b, res);
  return res;
}

/** The shape `a` and `b` broadcast to: one of them when it is that shape (no allocation). */
function broadcastResult(a: Shape, b: Shape): Shape {
  if (broadcastsTo(a, b, a)) return a;
  if (broadcastsTo(a, b, b)) return b;
  return broadcastShape(a, b);
}

/**
 * Broadcasts other than a scalar, a row or a column. A function of its own: its closure would
 * otherwise make every `binary` call allocate.
 */
function anyBroadcast(op: BinaryOp, a: Tensor, b: Tensor, res: Tensor): void {
  const f = SCALAR_FNS[op], x = a.data, y = b.data, o = res.data;
  forEachBroadcast(
    res.shape,
    broadcastStrides(a.shape, res.shape),
    broadcastStrides(b.shape, res.shape),
    (i, ia, ib) => {
      o[i] = f(x[ia], y[ib]);
    },
  );
}

/** Builds a broadcasting binary kernel from a scalar function (slower than the built-in ones). */
export function binaryKernel(
  f: (x: number, y: number) => number,
): (a: Operand, b: Operand, out?: Tensor) => Tensor {
  return (a: Operand, b: Operand, out?: Tensor): Tensor => {
    const like = typeof a === "number" ? (b as Tensor) : a;
    const ta = typeof a === "number" ? Tensor.scalar(a, like.dtype) : a;
    const tb = typeof b === "number" ? Tensor.scalar(b, like.dtype) : b;
    const shape = broadcastShape(ta.shape, tb.shape);
    const res = target(out, shape, like);
    const x = ta.data, y = tb.data, o = res.data;
    forEachBroadcast(
      shape,
      broadcastStrides(ta.shape, shape),
      broadcastStrides(tb.shape, shape),
      (i, ia, ib) => {
        o[i] = f(x[ia], y[ib]);
      },
    );
    return res;
  };
}

/** Builds a unary kernel from a scalar function. */
export function unaryKernel(f: (x: number) => number): (a: Tensor, out?: Tensor) => Tensor {
  return (a: Tensor, out?: Tensor): Tensor => {
    const res = target(out, a.shape, a);
    const x = a.data, o = res.data;
    for (let i = 0; i < x.length; i++) o[i] = f(x[i]);
    return res;
  };
}

/** a + b */
export const add = (a: Operand, b: Operand, out?: Tensor): Tensor => binary(ADD, a, b, out);
/** a − b */
export const sub = (a: Operand, b: Operand, out?: Tensor): Tensor => binary(SUB, a, b, out);
/** a · b */
export const mul = (a: Operand, b: Operand, out?: Tensor): Tensor => binary(MUL, a, b, out);
/** a / b */
export const div = (a: Operand, b: Operand, out?: Tensor): Tensor => binary(DIV, a, b, out);

/** −a */
export function neg(a: Tensor, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  const x = a.data, o = res.data;
  if (x.length >= SIMD_MIN && f32s(x, x, o) && unaryF32(0, x, o)) return res;
  for (let i = 0; i < x.length; i++) o[i] = -x[i];
  return res;
}

/**
 * eᵃ. Float32 tensors take a polynomial exp computed in double (error far below float32's
 * rounding, so results agree with Math.exp rounded to float32 in all but rare ties), on
 * WebAssembly SIMD two at a time (simd.ts); float64 tensors keep Math.exp.
 */
export function exp(a: Tensor, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  const x = a.data, o = res.data;
  if (o instanceof Float32Array && x instanceof Float32Array && expF32(x, o)) return res;
  if (o instanceof Float32Array) { for (let i = 0; i < x.length; i++) o[i] = fastExp(x[i]); }
  else for (let i = 0; i < x.length; i++) o[i] = Math.exp(x[i]);
  return res;
}

/** ln a (float32: a series computed in double, on WebAssembly SIMD, as `exp`). */
export function log(a: Tensor, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  const x = a.data, o = res.data;
  if (o instanceof Float32Array && x instanceof Float32Array && logF32(x, o)) return res;
  if (o instanceof Float32Array) { for (let i = 0; i < x.length; i++) o[i] = fastLog(x[i]); }
  else for (let i = 0; i < x.length; i++) o[i] = Math.log(x[i]);
  return res;
}

/**
 * tanh a. Float32: in float32 arithmetic from a polynomial exp (fastmath.ts's tanh32, within
 * one unit in the last place), on WebAssembly SIMD four at a time (simd.ts); float64 keeps
 * Math.tanh.
 */
export function tanh(a: Tensor, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  const x = a.data, o = res.data;
  if (o instanceof Float32Array && x instanceof Float32Array && tanhF32(x, o)) return res;
  if (o instanceof Float32Array) { for (let i = 0; i < x.length; i++) o[i] = tanh32(x[i]); }
  else for (let i = 0; i < x.length; i++) o[i] = Math.tanh(x[i]);
  return res;
}

/** aᵖ for a scalar exponent p. */
export function pow(a: Tensor, p: number, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  const x = a.data, o = res.data, n = x.length;
  const simd = n >= SIMD_MIN && f32s(x, x, o);
  if (simd && p === 2 && unaryF32(1, x, o)) return res;
  if (simd && p === -1 && unaryF32(2, x, o)) return res;
  if (p === 2) { for (let i = 0; i < n; i++) o[i] = x[i] * x[i]; }
  else if (p === 1 && o.constructor === x.constructor) o.set(x);
  else if (p === 1) { for (let i = 0; i < n; i++) o[i] = x[i]; }
  else if (p === -1) { for (let i = 0; i < n; i++) o[i] = 1 / x[i]; }
  else if (p === -0.5) { for (let i = 0; i < n; i++) o[i] = 1 / Math.sqrt(x[i]); }
  else if (p === -1.5 && o instanceof Float32Array && x instanceof Float32Array) {
    // The rule of x^−½ (layer norm's and batchnorm's): x ** −1.5 is a call into C each, 1/(x·√x)
    // a few instructions, and rounded to float32 they agree on every float32 x but −∞
    // (tests/bench/pow_ulp.ts checks them all).
    for (let i = 0; i < n; i++) {
      const v = x[i];
      o[i] = v === -Infinity ? 0 : 1 / (v * Math.sqrt(v));
    }
  } else for (let i = 0; i < n; i++) o[i] = x[i] ** p;
  return res;
}

/** 1 − a², tanh's local derivative written in terms of its output. */
export function oneMinusSquare(a: Tensor, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  const x = a.data, o = res.data;
  if (x.length >= SIMD_MIN && f32s(x, x, o) && unaryF32(3, x, o)) return res;
  for (let i = 0; i < x.length; i++) o[i] = 1 - x[i] * x[i];
  return res;
}

/**
 * g·(1 − y²), tanh's backward written with its output y. Float32 computes as PyTorch's
 * `(1.0 - h**2) * dh` does, rounding the square, the difference and the product each (on
 * WebAssembly SIMD, the same bits); float64 in double.
 */
export function mulOneMinusSquare(g: Tensor, y: Tensor, out?: Tensor): Tensor {
  if (!sameShape(g.shape, y.shape)) {
    throw new NinjagradError(
      `mulOneMinusSquare needs one shape, got ${formatShape(g.shape)} and ${formatShape(y.shape)}`,
    );
  }
  const res = target(out, y.shape, y);
  const gd = g.data, h = y.data, o = res.data;
  const simd = o.length >= SIMD_MIN && gd instanceof Float32Array && h instanceof Float32Array;
  if (simd && mulOneMinusSquareF32(gd, h, o)) return res;
  if (o instanceof Float32Array) {
    const f = Math.fround;
    for (let i = 0; i < o.length; i++) o[i] = gd[i] * f(1 - f(h[i] * h[i]));
  } else for (let i = 0; i < o.length; i++) o[i] = gd[i] * (1 - h[i] * h[i]);
  return res;
}

/**
 * Float32 parameters of this many values and more take the WebAssembly update: a bias of 200
 * in 0.11 µs against the loop's 0.18 µs (its Math.fround per value), one of 27 in 0.09 µs
 * against 0.06 µs.
 */
const SGD_MIN = 64;

/**
 * An SGD step in place: p −= lr·g. Float32 parameters take it as PyTorch's
 * `p.data += -lr * p.grad` does: lr rounded to float32, the product rounded, then the
 * difference (on WebAssembly SIMD, the same bits); float64 ones in double.
 */
export function sgdUpdate(p: TensorData, g: TensorData, lr: number): void {
  if (!(p instanceof Float32Array)) {
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
    return;
  }
  const f = Math.fround, r = f(lr);
  if (p.length >= SGD_MIN && g instanceof Float32Array && sgdF32(p, g, r)) return;
  for (let i = 0; i < p.length; i++) p[i] -= f(r * g[i]);
}

/** Copies `a` into `out` (or a new tensor). */
export function copy(a: Tensor, out?: Tensor): Tensor {
  const res = target(out, a.shape, a);
  res.data.set(a.data);
  return res;
}
