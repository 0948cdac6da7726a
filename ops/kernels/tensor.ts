/**
 * Tensors: a contiguous row-major typed array plus a shape. Float tensors are float32 (the
 * lecture's default) or float64 (gradient checks, goldens); int32 tensors hold indices.
 */
import { NinjagradError } from "./errors.ts";
import { RESIDENT_MIN, residentF32 } from "./memory.ts";

/** The float dtypes a graph may compute in. */
export type FloatDType = "float32" | "float64";
/** Every dtype a tensor may hold. */
export type DType = FloatDType | "int32";
/** A tensor's shape, outermost axis first. `[]` is a scalar. */
export type Shape = readonly number[];
/** The typed array behind a tensor. */
export type TensorData = Float32Array | Float64Array | Int32Array;

const ARRAY = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** Number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The most elements a tensor may hold: the kernels address their operands with 32-bit offsets,
 * and typed arrays past it are refused by the runtime anyway.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/**
 * Checks `shape` and `dtype` given to `what` (`Tensor.zeros`), returning the element count: every
 * size a whole number ≥ 0, their product at most MAX_TENSOR_ELEMENTS. A one-line error names the
 * argument and what is wrong, where the typed array would throw a bare RangeError.
 */
export function checkedSize(what: string, shape: Shape, dtype: DType): number {
  if (!Object.hasOwn(ARRAY, dtype)) {
    throw new NinjagradError(
      `${what}: dtype ${JSON.stringify(dtype)} is not one of float32, float64, int32`,
    );
  }
  if (!Array.isArray(shape)) {
    throw new NinjagradError(`${what}: shape must be a list of sizes ([2, 3]), got ${shape}`);
  }
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      const show = (v: unknown) =>
        typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v);
      throw new NinjagradError(
        `${what}: shape [${shape.map(show).join(", ")}] has ${show(d)} at axis ${i}; each size ` +
          "must be a whole number ≥ 0",
      );
    }
    n *= d;
  }
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new NinjagradError(
      `${what}: shape ${formatShape(shape)} holds ${n.toLocaleString("en")} elements, more than ` +
        `a tensor may (${MAX_TENSOR_ELEMENTS.toLocaleString("en")}, the kernels' 32-bit offsets)`,
    );
  }
  return n;
}

/** A new typed array of `n` elements, or a one-line error when the memory is not there. */
function allocate(what: string, shape: Shape, dtype: DType, n: number): TensorData {
  try {
    return new ARRAY[dtype](n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const bytes = n * (dtype === "float64" ? 8 : 4);
    throw new NinjagradError(
      `${what}: a ${dtype} tensor of shape ${formatShape(shape)} needs ` +
        `${bytes.toLocaleString("en")} bytes, more memory than could be allocated`,
    );
  }
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Whether two shapes are equal axis by axis. */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A shape written the way the lecture prints it: `(32, 27)`, `()` for a scalar. */
export function formatShape(shape: Shape): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * Recycles the tensors that `Tensor.zeros` hands out while it is active: a backward pass run
 * with `reuse` asks for the same shapes in the same order every step, so the k-th request of a
 * pass gets the k-th tensor of the previous pass back, zeroed. Rules allocate as usual and
 * allocate nothing in steady state; what a pass returned is valid until the next one.
 */
export class Arena {
  private readonly slots: Tensor[] = [];
  private next = 0;

  /** Starts a new pass: the tensors of the previous one are handed out again. */
  reset(): void {
    this.next = 0;
  }

  /**
   * A zeroed tensor: the slot's tensor when it has this shape and dtype, else a new one. With
   * `zero` false, a recycled tensor keeps the last pass's values (for kernels that write every
   * element anyway).
   */
  take(shape: Shape, dtype: DType, zero = true): Tensor {
    const slot = this.slots[this.next];
    if (slot !== undefined && slot.dtype === dtype && sameShape(slot.shape, shape)) {
      this.next++;
      if (zero) slot.data.fill(0);
      return slot;
    }
    const t = Tensor.owned(shape, dtype);
    this.slots[this.next++] = t;
    return t;
  }

  /**
   * Makes this arena serve `Tensor.zeros` until `leave(previous)` (in a `finally`), where
   * `previous` is what this returned: the arena that served before.
   */
  enter(): Arena | undefined {
    const previous = activeArena;
    activeArena = this;
    return previous;
  }

  /** Gives `Tensor.zeros` back to the arena that served before `enter`. */
  static leave(previous: Arena | undefined): void {
    activeArena = previous;
  }

  /** Whether some arena is serving `Tensor.zeros` now. */
  static get active(): boolean {
    return activeArena !== undefined;
  }
}

let activeArena: Arena | undefined;

/**
 * @internal A new tensor for a kernel that writes every one of its elements: `Tensor.zeros`,
 * except that inside a reusing backward pass the recycled tensor is not zeroed first.
 */
export function overwritten(shape: Shape, dtype: DType): Tensor {
  if (activeArena !== undefined) return activeArena.take(shape, dtype, false);
  return Tensor.zeros(shape, dtype);
}

/**
 * Reads of `data` (and `touch`es) of tensors that a graph's leaf holds, across every graph: a
 * graph that saw the same count before has nothing to look for, as no leaf can have changed.
 */
let leafWrites = 0;

/** @internal See `leafWrites`. */
export function leafEpoch(): number {
  return leafWrites;
}

/**
 * How many graph computations (a propagation, a backward pass) are running: their kernels only
 * read the leaves, so their reads of `data` count nothing, and no leaf looks edited after one.
 */
let computing = 0;

/** @internal A graph's computation begins (see `computing`). */
export function beginCompute(): void {
  computing++;
}

/** @internal A graph's computation ends. */
export function endCompute(): void {
  computing--;
}

/** @internal A graph, as the tensors that are its nodes' values see it. */
export interface TensorOwner {
  /** Above zero while the graph computes: then its values are being made, not read. */
  readonly hold: number;
  /** Recomputes what edited leaves made stale. */
  refresh(): void;
}

/**
 * A contiguous row-major tensor.
 *
 * Once a graph's leaf holds it, every read of `data` counts as a possible write (`version` goes
 * up): the graph compares versions before it hands out a value, and recomputes what an edit like
 * `t.data[i] = v` made stale. A write through a reference to the array kept from before, or
 * through the array given to the constructor, is not seen: call `touch()` after one. A node's
 * value brings its graph up to date before `data` is handed out.
 */
export class Tensor {
  /**
   * @internal The elements, read without counting a write: for the engine's own reads. Write
   * through `data`, which counts.
   */
  readonly raw: TensorData;
  /** The shape; its product equals `data.length`. */
  readonly shape: Shape;
  /** `float32`, `float64` or `int32`, read off the typed array. */
  readonly dtype: DType;
  /** The last view made by `reshape`, handed out again for the same shape (no allocation). */
  #view: Tensor | undefined;
  /** The tensor whose counter this one's writes go to: itself, or the one a view was made of. */
  #root: Tensor;
  /** Times `data` was handed out while a leaf held it, or `touch` called (on the root). */
  #writes = 0;
  /** The graph whose node holds this tensor as its value, brought up to date before a read. */
  #owner: TensorOwner | undefined = undefined;
  /** Whether some graph's leaf holds this tensor (on the root; views share it). */
  #leaf = false;

  /** Wraps `data` (not copied) as a tensor of `shape`; throws when the sizes differ. */
  constructor(data: TensorData, shape: Shape) {
    if (sizeOf(shape) !== data.length) {
      throw new NinjagradError(
        `a tensor of shape ${formatShape(shape)} needs ${
          sizeOf(shape)
        } elements, got ${data.length}`,
      );
    }
    this.raw = data;
    this.shape = shape;
    this.#root = this;
    this.dtype = data instanceof Float32Array
      ? "float32"
      : data instanceof Float64Array
      ? "float64"
      : "int32";
  }

  /** The elements, row-major. Each read counts as a possible write (see the class comment). */
  get data(): TensorData {
    const root = this.#root;
    // Only a leaf's tensor can go stale behind a graph: the others count nothing (no store in
    // the kernels' hot loops).
    if (root.#leaf && computing === 0) root.#writes++, leafWrites++;
    // A node's value kept from an earlier `.value` is recomputed first, as `.value` would be.
    const owner = this.#owner;
    if (owner !== undefined && owner.hold === 0) owner.refresh();
    return this.raw;
  }

  /** @internal Makes `t` a node's value in `owner`: reading its `data` brings `owner` up to date. */
  static own(t: Tensor, owner: TensorOwner): void {
    t.#owner = owner;
  }

  /** @internal Says that a graph's leaf holds `t` (see `leafEpoch`). */
  static heldByLeaf(t: Tensor): void {
    t.#root.#leaf = true;
  }

  /**
   * How many times the elements may have been written since a graph's leaf first held the
   * tensor (`data` handed out), or `touch` called. Views made by `reshape` share the count of
   * the tensor they were made of.
   */
  get version(): number {
    return this.#root.#writes;
  }

  /**
   * Says that the elements changed, after a write through an array kept from before: every
   * graph whose leaf holds this tensor recomputes before it next hands out a value.
   */
  touch(): void {
    const root = this.#root;
    root.#writes++;
    if (root.#leaf) leafWrites++;
  }

  /** Number of elements. */
  get size(): number {
    return this.raw.length;
  }

  /** A tensor of zeros (inside a reusing backward pass, a recycled one: see `Arena`). */
  static zeros(shape: Shape, dtype: DType = "float32"): Tensor {
    if (activeArena !== undefined) return activeArena.take(shape, dtype);
    const n = checkedSize("Tensor.zeros", shape, dtype);
    return new Tensor(allocate("Tensor.zeros", shape, dtype, n), [...shape]);
  }

  /**
   * @internal A tensor of zeros that the engine owns (a node's value, a backward pass's buffer):
   * float32 ones big enough for the WebAssembly kernels live in their memory, where the
   * kernels use them without copying (ops/kernels/memory.ts).
   */
  static owned(shape: Shape, dtype: DType): Tensor {
    const n = sizeOf(shape);
    const data = dtype === "float32" && n >= RESIDENT_MIN ? residentF32(n) : new ARRAY[dtype](n);
    return new Tensor(data, [...shape]);
  }

  /** A tensor filled with one value. */
  static full(shape: Shape, value: number, dtype: DType = "float32"): Tensor {
    const t = Tensor.zeros(shape, dtype);
    t.data.fill(value);
    return t;
  }

  /** A scalar (shape `[]`). */
  static scalar(value: number, dtype: DType = "float32"): Tensor {
    return Tensor.full([], value, dtype);
  }

  /**
   * A tensor from nested arrays (`[[1, 2], [3, 4]]`) or from flat values and a shape.
   * The shape of nested arrays is read off them; ragged arrays are an error.
   */
  static from(values: NestedNumbers, dtype: DType = "float32", shape?: Shape): Tensor {
    const flat: number[] = [];
    const inferred = flatten(values, flat, "values");
    if (shape !== undefined) checkedSize("Tensor.from", shape, dtype);
    else checkedSize("Tensor.from", inferred, dtype);
    return new Tensor(ARRAY[dtype].from(flat), shape ? [...shape] : inferred);
  }

  /** A copy, optionally in another dtype. */
  clone(dtype: DType = this.dtype): Tensor {
    return new Tensor(ARRAY[dtype].from(this.raw), [...this.shape]);
  }

  /** The same data viewed with another shape of the same size (no copy). */
  reshape(shape: Shape): Tensor {
    if (this.#view !== undefined && sameShape(this.#view.shape, shape)) return this.#view;
    const view = new Tensor(this.raw, [...shape]);
    view.#root = this.#root;
    return (this.#view = view);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new NinjagradError(
        `item() needs a one-element tensor, got shape ${formatShape(this.shape)}`,
      );
    }
    return this.raw[0];
  }

  /** The element at a multi-index. */
  get(...index: number[]): number {
    let offset = 0;
    const strides = stridesOf(this.shape);
    for (let i = 0; i < index.length; i++) offset += index[i] * strides[i];
    return this.raw[offset];
  }

  /** Nested plain arrays (a number for a scalar). */
  toArray(): NestedNumbers {
    const build = (axis: number, offset: number, strides: number[]): NestedNumbers => {
      if (axis === this.shape.length) return this.raw[offset];
      const out: NestedNumbers[] = [];
      for (let i = 0; i < this.shape[axis]; i++) {
        out.push(build(axis + 1, offset + i * strides[axis], strides));
      }
      return out;
    };
    return build(0, 0, stridesOf(this.shape));
  }

  /** A short description for messages: `float32 (32, 27)`. */
  toString(): string {
    return `Tensor ${this.dtype} ${formatShape(this.shape)}`;
  }
}

/** A number or arbitrarily nested arrays of numbers. */
export type NestedNumbers = number | NestedNumbers[];

function flatten(values: NestedNumbers, out: number[], path: string): number[] {
  if (typeof values === "number") {
    out.push(values);
    return [];
  }
  if (!Array.isArray(values)) {
    const v: unknown = values;
    const what = typeof v === "string"
      ? `${JSON.stringify(v)} (a string)`
      : v === null || v === undefined
      ? String(v)
      : `${typeof v === "object" ? "an object" : `a ${typeof v}`}`;
    throw new NinjagradError(
      `Tensor.from: ${path} is ${what}, not a number: pass numbers, or nested arrays of numbers`,
    );
  }
  const shapes = values.map((v, i) => flatten(v, out, `${path}[${i}]`));
  for (const s of shapes) {
    if (!sameShape(s, shapes[0])) {
      throw new NinjagradError("ragged nested arrays: every row must have the same length");
    }
  }
  return [values.length, ...(shapes[0] ?? [])];
}
