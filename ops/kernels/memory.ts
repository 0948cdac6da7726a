/**
 * The WebAssembly kernels' memory, and the float32 tensors that live in it.
 *
 * Copying operands into the kernels' memory and results out cost a training step more than a
 * tenth of its time (1.5 MB a step). So the tensors the engine owns (node values, a backward
 * pass's gradients and temporaries) are made here, `residentF32`, and the kernels read and
 * write them where they lie; other operands (a user's tensors, parameters) are copied into the
 * scratch at the bottom of the memory.
 *
 * Growing a WebAssembly memory detaches every array made on it, so this one has a fixed size
 * (kernels.wat: 256 MiB of address space; untouched pages cost nothing). Resident blocks are
 * taken from the top down, the scratch from the bottom up. A resident array that does not fit
 * is a plain one instead, and a kernel whose operands do not fit the scratch says so
 * (`scratch` returns −1): its JavaScript counterpart, which gives the same bits, runs instead.
 * A collected resident array's block goes back, through a FinalizationRegistry, to the next
 * array of its size: a view made on one (`subarray`) does not keep the block, so keep the array
 * itself (or its Tensor) for as long as the view is used.
 */
import { memory } from "./wasm/kernels.wasm";

/**
 * Float32 tensors of at least this many values live in the memory (smaller ones stay plain):
 * a batch's per-column vectors (batchnorm's statistics, a bias's gradient) too, which the
 * kernels would otherwise copy in and out on every call.
 */
export const RESIDENT_MIN = 64;

/** Bytes after each block that a kernel may read past its end (a quad of four floats). */
const SLACK = 16;

/** The memory, whole, as float32 and as float64 values. */
export const f32: Float32Array = new Float32Array(memory.buffer);
/** See `f32`. */
export const f64: Float64Array = new Float64Array(memory.buffer);
/** See `f32` (tables of byte offsets handed to kernels). */
export const i32: Int32Array = new Int32Array(memory.buffer);
const buffer = memory.buffer;

/**
 * The lowest resident block: the scratch may use everything below it, so a byte offset at or
 * above it lies in a resident array, one below it in the scratch.
 */
export let bottom = buffer.byteLength;
/** The most scratch asked for so far: resident blocks stay above it. */
let scratchUsed = 0;
/** Freed blocks by size in bytes. */
const free = new Map<number, number[]>();
// A collected array's block, held as one number (bytes · 2^32 + offset): no object per block.
const registry = new FinalizationRegistry<number>((held) => {
  const at = held % 2 ** 32, bytes = Math.floor(held / 2 ** 32);
  let list = free.get(bytes);
  if (list === undefined) free.set(bytes, list = []);
  list.push(at);
});

/** For tests: pretend the scratch cannot hold more than `bytes` (Infinity restores it). */
let scratchLimit = Infinity;

/** Whether `x` lives in the kernels' memory (so a kernel can use it where it lies). */
export function isResident(x: ArrayBufferView): boolean {
  return x.buffer === buffer;
}

/** A zeroed float32 array of `n` values in the kernels' memory, or a plain one if it is full. */
export function residentF32(n: number): Float32Array {
  const bytes = ((n * 4 + 15) & ~15) + SLACK;
  let at = free.get(bytes)?.pop();
  if (at === undefined) {
    if (bottom - bytes < scratchUsed + SLACK) return new Float32Array(n);
    at = bottom -= bytes;
  }
  const array = new Float32Array(buffer, at, n);
  array.fill(0);
  registry.register(array, bytes * 2 ** 32 + at);
  return array;
}

/**
 * The byte offset (0) of a scratch area of `bytes` bytes below every resident block, valid
 * until the next call; −1 when it does not fit (run the JavaScript counterpart instead).
 */
export function scratch(bytes: number): number {
  const need = bytes + SLACK;
  if (need > bottom || need > scratchLimit) return -1;
  if (need > scratchUsed) scratchUsed = need;
  return 0;
}

/** @internal For tests of the fallback: caps the scratch at `bytes` (Infinity lifts the cap). */
export function limitScratch(bytes: number): void {
  scratchLimit = bytes;
}
