/**
 * Float32 kernels on WebAssembly SIMD (ops/kernels/wasm/kernels.wat). An operand that lives in
 * the kernels' memory (memory.ts: the engine's own tensors) is used where it lies; any other is
 * copied into the scratch, and a result that cannot be written in place is copied out. Each
 * returns false, having done nothing, when its operands do not fit the scratch: the caller then
 * runs its JavaScript counterpart, whose bits each kernel gives:
 * - `gemmF32` reads A through its strides and B by rows (B read transposed is transposed
 *   first); every C[i, j] takes its float32 products in order into a float32 sum, as matmul.ts's
 *   JavaScript loop does: all four variants give the same bits. `gemmF64` sums in double.
 * - `tanhF32`, `expF32`, `logF32` compute in double precision, as fastmath.ts does.
 * - `rowsumF32` sums long rows in sixteen partial sums, as reduce.ts's rowSums32 does.
 * - `adamwF32` rounds as optim.ts's JavaScript loop (PyTorch's float32 ops), op by op.
 * - `copyRowsF32` moves rows of resident tensors, as layout.ts's loops.
 * - `sgdF32` and `mulOneMinusSquareF32` compute in float32, rounding each operation, as the
 *   JavaScript loops with Math.fround do (and PyTorch's float32 arithmetic).
 * - the elementwise kernels round each result once to float32, as JavaScript's double
 *   arithmetic stored into a Float32Array does, four lanes at a time. Below `SIMD_MIN` elements
 *   the copies cost more than the lanes save.
 */
import type { TensorData } from "./tensor.ts";
import {
  adamw,
  all_finite,
  bn_backward,
  bn_forward,
  ce_forward,
  colsum,
  colsum_mul,
  copy_rows,
  ew,
  exp,
  fill_rows,
  gather_rows,
  gelu,
  gelu_backward,
  gelu_tanh,
  gelu_tanh_backward,
  gemm32,
  gemm64,
  log,
  masked_fill,
  mul_one_minus_square,
  rowsum,
  rowsum_short,
  scatter_add_rows,
  sgd,
  softmax_rows,
  swap_axes,
  tanh,
  transpose32,
  transpose64,
  unary,
} from "./wasm/kernels.wasm";
import * as mem from "./memory.ts";
import { POW2_32 as EXP_TABLE } from "./fastmath.ts";

/**
 * Views of places in the memory by value offset, then by length, made once each: kernels of
 * different lengths share offsets, and a view made again on every call would allocate on every
 * step.
 */
class Views<T extends Float32Array | Float64Array | Int32Array> {
  private readonly byOffset = new Map<number, Map<number, T>>();
  constructor(private readonly whole: T) {}

  /** `whole.subarray(offset, offset + length)`. */
  at(offset: number, length: number): T {
    let byLength = this.byOffset.get(offset);
    if (byLength === undefined) this.byOffset.set(offset, byLength = new Map());
    let v = byLength.get(length);
    if (v === undefined) {
      byLength.set(length, v = this.whole.subarray(offset, offset + length) as T);
    }
    return v;
  }
}
const views32 = new Views(mem.f32), views64 = new Views(mem.f64), viewsI32 = new Views(mem.i32);
/** A float32 view of `length` values from float offset `offset`. */
const view = (offset: number, length: number) => views32.at(offset, length);

/** The byte offset after `floats` float32 values from `at`, rounded up to 16 bytes. */
const after = (at: number, floats: number) => (at + floats * 4 + 15) & ~15;

/** Where the kernel reads `x`: where it lies when resident, else copied to byte offset `at`. */
function input(x: TensorData, at: number): number {
  if (mem.isResident(x)) return x.byteOffset;
  mem.f32.set(x, at >> 2);
  return at;
}

/** Whether two arrays' byte ranges meet: they share bytes when both are resident. */
function overlap(a: TensorData, b: TensorData): boolean {
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Where the kernel writes `o`: `o` itself when it is resident and the kernel may write it in
 * place (`exact`: it writes no lane past the end; and each resident input, `a` and `b`, is `o`
 * itself, value for value, or lies apart from it), else the scratch at byte offset `at`.
 */
function output(o: TensorData, at: number, exact: boolean, a?: TensorData, b?: TensorData): number {
  if (!exact || !mem.isResident(o)) return at;
  return aside(o, a) && aside(o, b) ? o.byteOffset : at;
}

/** Whether a kernel writing `o` in place leaves input `x` intact until it has read it. */
function aside(o: TensorData, x: TensorData | undefined): boolean {
  // Offsets apart are apart in any buffer: the cheaper test first.
  if (x === undefined || !overlap(o, x) || !mem.isResident(x)) return true;
  return x.byteOffset === o.byteOffset && x.length === o.length;
}

/**
 * Copies a result from byte offset `at` into `o`, unless the kernel wrote `o` in place: `at` is
 * then `o`'s own offset, in a resident block, and a scratch offset lies below every such block.
 */
function finish(o: TensorData, at: number): void {
  if (at < mem.bottom) o.set(view(at >> 2, o.length));
}

/** Floats of B swept per block of rows: 256 KiB, a quarter of a core's L2 cache. */
const PANEL_FLOATS = 65536;

/**
 * C (m × n, row-major) = op(A) @ op(B), where op(A)[i, p] = A[i·rsA + p·csA] and
 * op(B)[p, j] = B[p·rsB + j·csB]. Every C[i, j] is summed over p in order in float32.
 */
export function gemmF32(
  A: Float32Array,
  rsA: number,
  csA: number,
  B: Float32Array,
  rsB: number,
  csB: number,
  C: Float32Array,
  m: number,
  n: number,
  k: number,
): boolean {
  // Scratch: C (m rounded up to 4 rows: the kernel writes whole blocks of four), A, B, B
  // transposed; 16 bytes after each B (a row's last block of four may read past its end).
  const cBytes = after(0, ((m + 3) & ~3) * n), aBytes = after(cBytes, A.length) - cBytes;
  const bBytes = after(0, B.length + 4), tBytes = after(0, k * n + 4);
  const s = mem.scratch(cBytes + aBytes + bBytes + tBytes);
  if (s < 0) return false;
  const a = input(A, s + cBytes), b = input(B, s + cBytes + aBytes);
  const c = output(C, s, m % 4 === 0, A, B);
  let bAt = b, ldb = rsB;
  if (csB !== 1) {
    bAt = s + cBytes + aBytes + bBytes, ldb = n;
    transpose32(b, bAt, k, n);
  }
  // Column panels of B (and C) of PANEL_FLOATS / k columns, a multiple of 8: every block of four
  // rows sweeps the whole panel, which then stays in the cache (one sweep of a 1024 × 1024 B is
  // 4 MB). Each C[i, j] is still one sum over p in order: the bits do not change.
  const panel = Math.max(8, Math.floor(PANEL_FLOATS / Math.max(k, 1)) & ~7);
  for (let j = 0; j < n; j += panel) {
    gemm32(a, rsA, csA, bAt + 4 * j, ldb, c + 4 * j, m, Math.min(panel, n - j), k, n);
  }
  finish(C, c);
  return true;
}

/**
 * `count` products C_i = op(A_i) @ op(B_i) of the consecutive blocks of resident float32 arrays
 * (A_i m × k, or k × m with `transA`; B_i k × n, or n × k with `transB`; C_i m × n), each with
 * the very kernel calls `gemmF32` makes for it (so the same bits), in one loop without its
 * per-product checks and copies: attention's 128 products of 16 × 16 a call. m a multiple of
 * four, C apart from A and B, a product within one panel of B; false otherwise.
 */
export function gemmBatchF32(
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  count: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): boolean {
  const mk = m * k, kn = k * n, mn = m * n;
  if (m % 4 !== 0 || A.length !== count * mk || B.length !== count * kn) return false;
  if (C.length !== count * mn || Math.max(8, Math.floor(PANEL_FLOATS / k) & ~7) < n) return false;
  if (!mem.isResident(A) || !mem.isResident(B) || !mem.isResident(C)) return false;
  if (overlap(C, A) || overlap(C, B)) return false;
  // B transposed goes into the scratch, as gemmF32 puts it (16 readable bytes after it).
  const t = transB ? mem.scratch(after(0, kn + 4)) : 0;
  if (t < 0) return false;
  const rsA = transA ? 1 : k, csA = transA ? m : 1;
  let a = A.byteOffset, b = B.byteOffset, c = C.byteOffset;
  for (let i = 0; i < count; i++, a += 4 * mk, b += 4 * kn, c += 4 * mn) {
    if (transB) transpose32(b, t, k, n);
    gemm32(a, rsA, csA, transB ? t : b, n, c, m, n, k, n);
  }
  return true;
}

/**
 * `gemmF32` for float64 operands: every C[i, j] summed over p in order in double, as the
 * JavaScript loops in matmul.ts sum it (kernels.wat's gemm64), two lanes at a time.
 */
export function gemmF64(
  A: Float64Array,
  rsA: number,
  csA: number,
  B: Float64Array,
  rsB: number,
  csB: number,
  C: Float64Array,
  m: number,
  n: number,
  k: number,
): boolean {
  // Scratch as gemmF32's, eight bytes a value (float64 tensors never live in the memory).
  const after64 = (at: number, doubles: number) => (at + doubles * 8 + 15) & ~15;
  const rawA = after64(0, ((m + 3) & ~3) * n), rawB = after64(rawA, A.length);
  const bT = after64(rawB, B.length + 2);
  const s = mem.scratch(after64(bT, k * n + 2));
  if (s < 0) return false;
  mem.f64.set(A, (s + rawA) >> 3);
  mem.f64.set(B, (s + rawB) >> 3);
  if (csB === 1) {
    gemm64(s + rawA, rsA, csA, s + rawB, rsB, s, m, n, k);
  } else {
    transpose64(s + rawB, s + bT, k, n);
    gemm64(s + rawA, rsA, csA, s + bT, n, s, m, n, k);
  }
  C.set(views64.at(s >> 3, m * n));
  return true;
}

/** out = exp(x) elementwise, for float32 arrays of the same length (see kernels.wat). */
export function expF32(x: Float32Array, out: Float32Array): boolean {
  return pairwise(exp, x, out);
}

/** out = ln(x) elementwise, for float32 arrays of the same length (see kernels.wat). */
export function logF32(x: Float32Array, out: Float32Array): boolean {
  return pairwise(log, x, out);
}

/**
 * Runs a kernel that works on `group` float32 values at a time (2 or 4): an odd tail is padded
 * with `pad` in the scratch copy, and read past the end of a resident x (its result dropped).
 */
function grouped(
  kernel: (src: number, dst: number, groups: number) => void,
  group: 2 | 4,
  pad: number,
  x: Float32Array,
  out: Float32Array,
): boolean {
  const n = x.length, padded = (n + group - 1) & -group;
  const s = mem.scratch(8 * padded);
  if (s < 0) return false;
  let src = s;
  if (mem.isResident(x)) src = x.byteOffset;
  else {
    mem.f32.set(x, s >> 2);
    mem.f32.fill(pad, (s >> 2) + n, (s >> 2) + padded);
  }
  const dst = output(out, s + padded * 4, padded === n, x);
  kernel(src, dst, padded / group);
  finish(out, dst);
  return true;
}

function pairwise(
  kernel: (src: number, dst: number, pairs: number) => void,
  x: Float32Array,
  out: Float32Array,
): boolean {
  return grouped(kernel, 2, 1, x, out);
}

/** out = gelu(x) = x·Φ(x), the exact form, for float32 arrays of one length (see kernels.wat). */
export function geluF32(x: Float32Array, out: Float32Array): boolean {
  return grouped(gelu, 2, 0, x, out);
}

/**
 * o = g·(y/x + x·φ(x)), the exact gelu's rule with Φ read off its output y = x·Φ(x) (see
 * kernels.wat), for float32 arrays of one length, two at a time: an odd length reads one value
 * past the end of g, x and y (its result dropped: the output then goes through the scratch).
 */
export function geluBackwardF32(
  g: Float32Array,
  x: Float32Array,
  y: Float32Array,
  o: TensorData,
): boolean {
  const n = g.length, padded = (n + 1) & -2;
  const xAt = after(0, padded), yAt = after(xAt, padded), oAt = after(yAt, padded);
  const s = mem.scratch(oAt + padded * 4);
  if (s < 0) return false;
  // In place only when y, too, lies apart from o (output() checks g and x).
  const at = output(o, s + oAt, padded === n && aside(o, y), g, x);
  gelu_backward(input(g, s), input(x, s + xAt), input(y, s + yAt), at, padded / 2);
  finish(o, at);
  return true;
}

/** Whether a, b and c live in the memory, no two sharing a byte (no array made per call). */
function residentApart(a: Float32Array, b: Float32Array, c: Float32Array): boolean {
  return mem.isResident(a) && mem.isResident(b) && mem.isResident(c) && !overlap(a, b) &&
    !overlap(a, c) && !overlap(b, c);
}

/**
 * Softmax along rows of n float32 values (kernels.wat's softmax_rows): softmax.ts's lastAxis's
 * bits, fastExp's steps included (its table of 2^(j/32) goes into the scratch). Resident x and
 * o of rows·n values, n a multiple of four, o either x itself or apart from it; false otherwise.
 */
export function softmaxRowsF32(x: Float32Array, o: Float32Array, rows: number, n: number): boolean {
  if (n === 0 || n % 4 !== 0 || x.length !== rows * n || o.length !== x.length) return false;
  if (!mem.isResident(x) || !mem.isResident(o) || (o !== x && overlap(o, x))) return false;
  const s = mem.scratch(EXP_TABLE.length * 8 + n * 8);
  if (s < 0) return false;
  mem.f64.set(EXP_TABLE, s >> 3);
  softmax_rows(x.byteOffset, o.byteOffset, rows, n, s + EXP_TABLE.length * 8, s);
  return true;
}

/**
 * gelu's tanh form (kernels.wat's gelu_tanh): t = tanh u, u = √(2/π)·(x + 0.044715x³), kept for
 * the rule, and o = x·(1 + t)/2, the bits of activation.ts's three loops in one call. Resident
 * arrays of one length, a multiple of four, x apart from t and o, o either t or apart from it;
 * false otherwise (the loops then run).
 */
export function geluTanhF32(x: Float32Array, t: Float32Array, o: Float32Array): boolean {
  const n = x.length;
  if (n % 4 !== 0 || t.length !== n || o.length !== n) return false;
  if (!mem.isResident(x) || !mem.isResident(t) || !mem.isResident(o)) return false;
  if (overlap(x, t) || overlap(x, o) || (o !== t && overlap(o, t))) return false;
  gelu_tanh(x.byteOffset, t.byteOffset, o.byteOffset, n / 4);
  return true;
}

/**
 * The rule of gelu's tanh form with the forward's kept t = tanh u (kernels.wat's
 * gelu_tanh_backward): o = g·gelu'(x), the bits of activation.ts's loop. Resident arrays of one
 * even length, apart (`o` may be `g` itself: each value is read before it is written), only
 * (node values, their kept tanh and a backward pass's gradients are); false otherwise.
 */
export function geluTanhBackwardF32(
  g: Float32Array,
  x: Float32Array,
  t: Float32Array,
  o: Float32Array,
): boolean {
  const n = x.length;
  if (n % 2 !== 0 || g.length !== n || t.length !== n || o.length !== n) return false;
  if (!residentApart(g, x, t) || !mem.isResident(o) || overlap(o, x) || overlap(o, t)) {
    return false;
  }
  if (o !== g && overlap(o, g)) return false;
  gelu_tanh_backward(g.byteOffset, x.byteOffset, t.byteOffset, o.byteOffset, n / 2);
  return true;
}

/**
 * o[i] = value where mask[i mod mask.length] ≠ 0, else x[i] (kernels.wat's masked_fill), for
 * float32 x and o of a whole number of masks, the mask float32 or int32, `value` a float32:
 * JavaScript's select, element for element.
 */
export function maskedFillF32(
  x: Float32Array,
  mask: TensorData,
  value: number,
  o: Float32Array,
): boolean {
  const n = x.length, w = mask.length;
  if (w === 0 || n % w !== 0 || o.length !== n || mask instanceof Float64Array) return false;
  const mAt = after(0, n), oAt = after(mAt, w);
  const s = mem.scratch(oAt + n * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, x, mask);
  const m = mem.isResident(mask) ? mask.byteOffset : (copyMask(mask, s + mAt), s + mAt);
  masked_fill(input(x, s), m, at, n / w, w, mask instanceof Int32Array ? 1 : 0, value);
  finish(o, at);
  return true;
}

/**
 * o[r·width + j] = f32(src[r]·scale) for each of `rows` rows (kernels.wat's fill_rows: the bits
 * of reduce.ts's expand), for float32 src and o.
 */
export function fillRowsF32(
  src: Float32Array,
  o: Float32Array,
  rows: number,
  width: number,
  scale: number,
): boolean {
  if (src.length !== rows || o.length !== rows * width) return false;
  const oAt = after(0, rows);
  const s = mem.scratch(oAt + rows * width * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, src);
  fill_rows(input(src, s), at, rows, width, scale);
  finish(o, at);
  return true;
}

/** A mask's bits into the memory at byte offset `at` (int32 ones as int32). */
function copyMask(mask: Float32Array | Int32Array, at: number): void {
  if (mask instanceof Int32Array) mem.i32.set(mask, at >> 2);
  else mem.f32.set(mask, at >> 2);
}

/** out = tanh(x) elementwise, for float32 arrays of the same length. */
export function tanhF32(x: Float32Array, out: Float32Array): boolean {
  return grouped(tanh, 4, 0, x, out);
}

// The elementwise kernels take any typed arrays so that callers need no casts; they are called
// only for float32 ones.

/**
 * Fewer elements than this stay in JavaScript (same bits either way): below it a call into
 * WebAssembly costs more than its lanes save.
 */
export const SIMD_MIN = 256;

/** Binary ops of `ew`: 0 add, 1 sub, 2 mul, 3 div, 4 y − x, 5 y / x. */
export type EwOp = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * o[r][j] = x[r][j] op y[r·ystep + j·ycol] for a (rows, width) x: `ycol` 1 and `ystep` 0 for a
 * row reused by every row (or a whole y when rows is 1), `ycol` 0 for one y per row (ystep 1)
 * or one y for everything (ystep 0).
 */
export function ewF32(
  op: EwOp,
  x: TensorData,
  y: TensorData,
  o: TensorData,
  rows: number,
  width: number,
  ystep: 0 | 1,
  ycol: 0 | 1,
): boolean {
  const n = rows * width, yAt = after(0, n), oAt = after(yAt, y.length);
  const s = mem.scratch(oAt + n * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, x, y);
  ew(op, input(x, s), input(y, s + yAt), at, rows, width, ystep, ycol);
  finish(o, at);
  return true;
}

/** `ewF32` with a scalar y (already rounded to float32). */
export function scalarF32(op: EwOp, x: TensorData, value: number, o: TensorData): boolean {
  const n = x.length, yAt = after(0, n), oAt = after(yAt, 1);
  const s = mem.scratch(oAt + n * 4);
  if (s < 0) return false;
  mem.f32[(s + yAt) >> 2] = value;
  const at = output(o, s + oAt, true, x);
  ew(op, input(x, s), s + yAt, at, 1, n, 0, 0);
  finish(o, at);
  return true;
}

/** Unary ops: 0 −x, 1 x², 2 1/x, 3 1 − x² (in double, rounded once). */
export function unaryF32(op: 0 | 1 | 2 | 3, x: TensorData, o: TensorData): boolean {
  const n = x.length, oAt = after(0, n);
  const s = mem.scratch(oAt + n * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, x);
  unary(op, input(x, s), at, n);
  finish(o, at);
  return true;
}

/** o[j] = Σ over rows of x[r·width + j], summed in order in float32 (o is overwritten). */
export function colsumF32(x: TensorData, o: TensorData, rows: number, width: number): boolean {
  const oAt = after(0, rows * width);
  const s = mem.scratch(oAt + width * 4);
  if (s < 0) return false;
  // Written in place only apart from x: a column's sum must not land on rows still to be read.
  const at = mem.isResident(x) && mem.isResident(o) && overlap(x, o)
    ? s + oAt
    : output(o, s + oAt, true);
  colsum(input(x, s), at, rows, width);
  finish(o, at);
  return true;
}

/**
 * o[r] = Σ of row r's `width` values (width ≥ 16) in sixteen partial sums, as reduce.ts's
 * rowSums32 adds them (kernels.wat's rowsum).
 */
export function rowsumF32(x: TensorData, o: TensorData, rows: number, width: number): boolean {
  const oAt = after(0, rows * width);
  const s = mem.scratch(oAt + rows * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, x);
  rowsum(input(x, s), at, rows, width);
  finish(o, at);
  return true;
}

/**
 * o[r] = Σ of row r's `width` values (width below 256) in order from 0, in float32, as reduce.ts's
 * rowSums32 adds them (kernels.wat's rowsum_short, four rows at a time).
 */
export function rowsumShortF32(
  x: Float32Array,
  o: TensorData,
  rows: number,
  width: number,
): boolean {
  const oAt = after(0, rows * width);
  const s = mem.scratch(oAt + rows * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, x);
  rowsum_short(input(x, s), at, rows, width);
  finish(o, at);
  return true;
}

/** p −= lr·g in place, for float32 arrays of the same length, lr a float32: p − f32(lr·g). */
export function sgdF32(p: Float32Array, g: Float32Array, lr: number): boolean {
  const n = p.length, gAt = after(0, n);
  const s = mem.scratch(gAt + n * 4);
  if (s < 0) return false;
  const at = output(p, s, true, g);
  if (at !== p.byteOffset || !mem.isResident(p)) mem.f32.set(p, at >> 2);
  sgd(at, input(g, s + gAt), lr, n);
  finish(p, at);
  return true;
}

/** AdamW's scalars, each a float32 (see optim.ts's adamwUpdate): dec, β1, 1 − β1, β2, 1 − β2, √(1 − β2ᵗ), eps, −stepSize. */
export type AdamWScalars = readonly [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

/**
 * AdamW's float32 update of p with gradient g and moments m, v (arrays of one length), in place:
 * each array is used where it lies when resident, else copied into the scratch (and p, m, v
 * back). The bits of optim.ts's loop.
 */
export function adamwF32(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  k: AdamWScalars,
): boolean {
  // Scratch only for the arrays that do not lie in the memory (the scratch asked for once
  // stays below every resident block: a parameter's worth, not four).
  const n = p.length, bytes = after(0, n);
  let need = 0;
  const at = [p, g, m, v].map((x) => mem.isResident(x) ? -1 : (need += bytes) - bytes);
  const s = mem.scratch(need);
  if (s < 0) return false;
  const pAt = place(p, s + at[0]), mHere = place(m, s + at[2]), vHere = place(v, s + at[3]);
  const gAt = input(g, s + at[1]);
  adamw(pAt, gAt, mHere, vHere, n, k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]);
  finish(p, pAt);
  finish(m, mHere);
  finish(v, vHere);
  return true;
}

/** Where an array updated in place lies for a kernel: itself when resident, else copied to `at`. */
function place(x: Float32Array, at: number): number {
  if (mem.isResident(x)) return x.byteOffset;
  mem.f32.set(x, at >> 2);
  return at;
}

/**
 * Two axes of float32 data swapped, seen as (pre, ni, mid, nj, post) into (pre, nj, mid, ni,
 * post), in one call (kernels.wat's swap_axes: the runs layout.ts's swapF32 moves one
 * copyRows call at a time). Both arrays resident, apart, of that size, post a multiple of four;
 * false (nothing done) otherwise.
 */
export function swapAxesF32(
  s: Float32Array,
  o: Float32Array,
  pre: number,
  ni: number,
  mid: number,
  nj: number,
  post: number,
): boolean {
  const n = pre * ni * mid * nj * post;
  if (post % 4 !== 0 || s.length !== n || o.length !== n) return false;
  if (!mem.isResident(s) || !mem.isResident(o) || overlap(s, o)) return false;
  swap_axes(s.byteOffset, o.byteOffset, pre, ni, mid, nj, post);
  return true;
}

/**
 * `rows` runs of `width` values, run r from s[from + r·sStride] into o[to + r·oStride], when
 * both arrays are resident, apart, and every run lies inside its array; false (nothing done)
 * otherwise, for the caller's loop.
 */
export function copyRowsF32(
  s: Float32Array,
  from: number,
  sStride: number,
  o: Float32Array,
  to: number,
  oStride: number,
  rows: number,
  width: number,
): boolean {
  if (rows === 0 || !mem.isResident(s) || !mem.isResident(o) || overlap(s, o)) return false;
  const last = rows - 1;
  if (
    from < 0 || to < 0 || from + last * sStride + width > s.length ||
    to + last * oStride + width > o.length
  ) return false;
  copy_rows(
    s.byteOffset + from * 4,
    sStride * 4,
    o.byteOffset + to * 4,
    oStride * 4,
    rows,
    width * 4,
  );
  return true;
}

/**
 * `count` row-major (rows × cols) blocks of s, one after the other, each transposed into the
 * (cols × rows) block of o at the same offset (kernels.wat's transpose32, a call per block), when
 * both arrays are resident, apart, and hold the blocks; false (nothing done) otherwise.
 */
export function transposeBlocksF32(
  s: Float32Array,
  o: Float32Array,
  count: number,
  rows: number,
  cols: number,
): boolean {
  const size = rows * cols;
  if (!mem.isResident(s) || !mem.isResident(o) || overlap(s, o)) return false;
  if (count * size > s.length || count * size > o.length) return false;
  for (let b = 0, at = s.byteOffset, to = o.byteOffset; b < count; b++) {
    transpose32(at, to, cols, rows);
    at += size * 4, to += size * 4;
  }
  return true;
}

// Fused kernels of the composite ops (fused.ts).

/** The byte offsets of batchnorm's eleven results, handed to bn_forward as a table. */
const BN_OUTPUTS = 11;

/**
 * Batchnorm's training forward over x (rows × width) with gain and bias (width each, float32)
 * into `outs`, its eleven nodes' buffers: the vectors bnsum, bnmeani, bnvarsum, bnvar,
 * bnvar_eps, bnvar_inv (width each), then the matrices bndiff, bndiff2, bnraw, bnscaled,
 * hpreact (rows × width). Every node computed in the memory, each rounded as its own kernel
 * rounds it (kernels.wat's bn_forward), written where it lies when resident.
 */
export function batchNormF32(
  x: Float32Array,
  gain: Float32Array,
  bias: Float32Array,
  outs: readonly TensorData[],
  rows: number,
  width: number,
  invN: number,
  invN1: number,
  eps: number,
): boolean {
  const size = rows * width;
  // x (and four floats of slack: the column sums read up to a quad past it), gain, bias, the
  // table of result offsets, then scratch for each result that is not resident.
  const gAt = after(0, size + 4), bAt = after(gAt, width + 4), tAt = after(bAt, width + 4);
  let end = after(tAt, BN_OUTPUTS);
  for (let k = 0; k < BN_OUTPUTS; k++) end = after(end, k < 6 ? width : size);
  const s = mem.scratch(end);
  if (s < 0) return false;
  const table = tAt >> 2;
  let at = s + after(tAt, BN_OUTPUTS);
  for (let k = 0; k < BN_OUTPUTS; k++) {
    const o = outs[k];
    mem.i32[(s >> 2) + table + k] = output(o, at, true, x);
    at = after(at, o.length);
  }
  const xAt = input(x, s), gainAt = input(gain, s + gAt), biasAt = input(bias, s + bAt);
  bn_forward(xAt, gainAt, biasAt, s + tAt, rows, width, invN, invN1, eps);
  for (let k = 0; k < BN_OUTPUTS; k++) finish(outs[k], mem.i32[(s >> 2) + table + k]);
  return true;
}

/**
 * Batchnorm's closed-form dx (kernels.wat's bn_backward) into o, for float32 g and bnraw
 * (rows × width) and gain and bnvar_inv (width each); n and c = n/(n − 1) already rounded to
 * float32. The bits of the rule's formula computed kernel by kernel (closed_form.ts).
 */
export function bnBackwardF32(
  g: TensorData,
  raw: TensorData,
  gain: TensorData,
  inv: TensorData,
  o: TensorData,
  rows: number,
  width: number,
  n: number,
  c: number,
): boolean {
  const size = rows * width;
  const rawAt = after(0, size), gainAt = after(rawAt, size), invAt = after(gainAt, width);
  const oAt = after(invAt, width);
  const s = mem.scratch(oAt + size * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, g, raw);
  bn_backward(
    input(g, s),
    input(raw, s + rawAt),
    input(gain, s + gainAt),
    input(inv, s + invAt),
    at,
    rows,
    width,
    n,
    c,
  );
  finish(o, at);
  return true;
}

/**
 * o[j] = Σ over rows of a[r·width + j]·b[r·width + j], each product rounded to float32 and
 * summed in row order (kernels.wat's colsum_mul): colsumF32 of the product, in one pass.
 */
export function colsumMulF32(
  a: TensorData,
  b: TensorData,
  o: TensorData,
  rows: number,
  width: number,
): boolean {
  const size = rows * width, bAt = after(0, size), oAt = after(bAt, size);
  const s = mem.scratch(oAt + width * 4);
  if (s < 0) return false;
  // Written in place only apart from both inputs, as colsumF32.
  const apart = !mem.isResident(o) ||
    !((mem.isResident(a) && overlap(a, o)) || (mem.isResident(b) && overlap(b, o)));
  const at = apart ? output(o, s + oAt, true) : s + oAt;
  colsum_mul(input(a, s), input(b, s + bAt), at, rows, width);
  finish(o, at);
  return true;
}

/** The number of cross-entropy's results, handed to ce_forward as a table of byte offsets. */
const CE_OUTPUTS = 11;

/**
 * Cross-entropy's forward over float32 logits (n × classes) and int32 targets (n, each in
 * [0, classes)) into `outs`, its nodes' buffers in kernels.wat's ce_forward order: logit_maxes,
 * the arg-maxes (an Int32Array), norm_logits, counts, counts_sum, counts_sum_inv, probs,
 * logprobs, picked, picked_mean, loss; `invN` is 1/n as float32. Every value as its node's own
 * kernel computes it (exp and log the exp and log kernels), written where it lies when resident.
 */
export function crossEntropyF32(
  logits: Float32Array,
  targets: Int32Array,
  outs: readonly TensorData[],
  n: number,
  classes: number,
  invN: number,
): boolean {
  const size = n * classes, even = size % 2 === 0;
  // logits (and a value of slack: exp reads by pairs), the targets, the table of result offsets,
  // then scratch for each result that is not resident (or that a pair would overrun).
  const tAt = after(0, size + 1), tableAt = after(tAt, n);
  let end = after(tableAt, CE_OUTPUTS);
  for (let k = 0; k < CE_OUTPUTS; k++) end = after(end, outs[k].length + 1);
  const s = mem.scratch(end);
  if (s < 0) return false;
  const table = (s + tableAt) >> 2;
  let at = s + after(tableAt, CE_OUTPUTS);
  for (let k = 0; k < CE_OUTPUTS; k++) {
    const o = outs[k];
    // norm_logits, counts, probs and logprobs are written by pairs; the arg-maxes are int32.
    const paired = k === 2 || k === 3 || k === 6 || k === 7;
    mem.i32[table + k] = k === 1 ? at : output(o, at, !paired || even, logits);
    at = after(at, o.length + 1);
  }
  mem.i32.set(targets, (s + tAt) >> 2);
  ce_forward(input(logits, s), s + tAt, s + tableAt, n, classes, invN);
  for (let k = 0; k < CE_OUTPUTS; k++) {
    const o = outs[k], from = mem.i32[table + k];
    if (k === 1) o.set(viewsI32.at(from >> 2, o.length));
    else finish(o, from);
  }
  return true;
}

/** o = g·(1 − y²) elementwise for float32 arrays of one length, each operation in float32. */
export function mulOneMinusSquareF32(g: Float32Array, y: Float32Array, o: TensorData): boolean {
  const n = g.length, yAt = after(0, n), oAt = after(yAt, n);
  const s = mem.scratch(oAt + n * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, g, y);
  mul_one_minus_square(input(g, s), input(y, s + yAt), at, n);
  finish(o, at);
  return true;
}

/**
 * Whether every value of a float32 array is finite (neither NaN nor ±Infinity), read off the
 * exponent bits (kernels.wat's all_finite).
 */
export function finiteF32(x: Float32Array): boolean {
  const s = mem.scratch(x.length * 4);
  if (s >= 0 || mem.isResident(x)) return all_finite(input(x, s), x.length) === 1;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/**
 * o's row i = table's row idx[i] for float32 rows of d values, every index in [0, rows) (the
 * caller checks): the embedding's lookup (kernels.wat's gather_rows).
 */
export function gatherRowsF32(
  table: TensorData,
  idx: Int32Array,
  o: TensorData,
  d: number,
): boolean {
  const iAt = after(0, table.length), oAt = after(iAt, idx.length);
  const s = mem.scratch(oAt + o.length * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, table);
  mem.i32.set(idx, (s + iAt) >> 2);
  gather_rows(input(table, s), s + iAt, at, idx.length, d);
  finish(o, at);
  return true;
}

/**
 * o (rows × d, float32) = zeros, then g's row i added into o's row idx[i] for i in order, every
 * index in [0, rows): the lookup's backward (kernels.wat's scatter_add_rows).
 */
export function scatterAddRowsF32(
  g: TensorData,
  idx: Int32Array,
  o: TensorData,
  d: number,
): boolean {
  const iAt = after(0, g.length), oAt = after(iAt, idx.length);
  const s = mem.scratch(oAt + o.length * 4);
  if (s < 0) return false;
  const at = output(o, s + oAt, true, g);
  // Written in place only apart from g: o is zeroed before g is read.
  const apart = at !== o.byteOffset || !mem.isResident(g) || !overlap(g, o);
  const to = apart ? at : s + oAt;
  mem.i32.set(idx, (s + iAt) >> 2);
  scatter_add_rows(input(g, s), s + iAt, to, idx.length, d, o.length / d);
  finish(o, to);
  return true;
}
