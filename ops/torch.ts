/**
 * PyTorch's tensor functions beyond the lecture's, under their names (camelCased): expand,
 * roll, split, chunk, maskedFill, tril, triu, arange, argmax, topk, gather, multinomial and
 * detach. Like build.ts's, each adds a node to its input's graph and evaluates it at once.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, Tensor } from "./kernels/tensor.ts";
import { type Random, seededRandom } from "./kernels/random.ts";
import type { Graph, Operand } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";
import { liveSizes, type SizeLike } from "../graph/size.ts";
import { apply, slice } from "./build.ts";
import * as movement from "./movement.ts";
import * as search from "./search.ts";
import * as sample from "./sample.ts";
import * as grad from "./grad.ts";

/** The axis as a non-negative number below `rank`, or an error naming the function. */
function axisIn(what: string, x: Node, axis: number): number {
  const r = x.shape.length, a = axis < 0 ? axis + r : axis;
  if (!(Number.isInteger(a) && a >= 0 && a < r)) {
    throw new NinjagradError(
      `${what}: axis ${axis} is out of range for ${x.name} ${formatShape(x.shape)}`,
    );
  }
  return a;
}

/**
 * x.expand(...sizes): x broadcast to `sizes` (−1 keeps an axis; only axes of size 1 grow; new
 * axes go in front). A size may be live, read off a node on every run: makemore's
 * `self.start.expand((b, -1))` is `expand(start, [idx.size(0), -1])` and fits any batch. Its
 * gradient sums over the copies.
 */
export function expand(x: Node, sizes: readonly SizeLike[]): Node {
  const { like, specs } = liveSizes("expand", sizes);
  if (like !== undefined) return apply(movement.expandSized, { x, like }, { sizes: specs });
  return apply(movement.expand, { x }, { sizes: [...sizes] });
}

/**
 * torch.roll(x, shifts, dims): elements moved `shifts` places along `dims` (toward higher
 * indices), wrapping around; with no dims, the flattened tensor is rolled and reshaped back.
 */
export function roll(
  x: Node,
  shifts: number | readonly number[],
  dims?: number | readonly number[],
): Node {
  const s = typeof shifts === "number" ? [shifts] : [...shifts];
  const d = dims === undefined ? [] : typeof dims === "number" ? [dims] : [...dims];
  if (dims === undefined ? s.length !== 1 : s.length !== d.length) {
    throw new NinjagradError(
      `roll needs one shift per axis, got shifts (${s.join(", ")}) and dims (${d.join(", ")})`,
    );
  }
  if (!s.every(Number.isInteger)) {
    throw new NinjagradError(`roll's shifts are integers, got (${s.join(", ")})`);
  }
  return apply(movement.roll, { x }, { shifts: s, dims: d.map((a) => axisIn("roll", x, a)) });
}

/**
 * torch.split(x, sizes, dim): pieces of x along `dim` (default 0): `sizes` a number gives pieces
 * of that length (the last may be shorter), an array gives pieces of those lengths (summing to
 * the axis's length). Each piece is a slice node.
 */
export function split(x: Node, sizes: number | readonly number[], dim = 0): Node[] {
  const a = axisIn("split", x, dim), n = x.shape[a];
  let lengths: number[];
  if (typeof sizes === "number") {
    if (!(Number.isInteger(sizes) && sizes > 0)) {
      throw new NinjagradError(`split's size is a positive integer, got ${sizes}`);
    }
    lengths = [];
    for (let at = 0; at < n; at += sizes) lengths.push(Math.min(sizes, n - at));
  } else {
    lengths = [...sizes];
    const total = lengths.reduce((p, q) => p + q, 0);
    if (!lengths.every((l) => Number.isInteger(l) && l >= 0) || total !== n) {
      throw new NinjagradError(
        `split: sizes (${
          lengths.join(", ")
        }) must add up to axis ${dim}'s length ${n} of ${x.name} ${formatShape(x.shape)}`,
      );
    }
  }
  const pieces: Node[] = [];
  let at = 0;
  for (const l of lengths) pieces.push(slice(x, a, at, at + l)), at += l;
  return pieces;
}

/**
 * torch.chunk(x, chunks, dim): x split into `chunks` pieces of ⌈n/chunks⌉ along `dim` (default
 * 0), the last shorter, and fewer pieces when the length does not fill them (as PyTorch).
 */
export function chunk(x: Node, chunks: number, dim = 0): Node[] {
  if (!(Number.isInteger(chunks) && chunks > 0)) {
    throw new NinjagradError(`chunk's count is a positive integer, got ${chunks}`);
  }
  const n = x.shape[axisIn("chunk", x, dim)];
  return split(x, Math.max(1, Math.ceil(n / chunks)), dim);
}

/**
 * x.masked_fill(mask, value): `value` where mask is nonzero (mask an int32 node of 0s and 1s,
 * or a float one, broadcast to x's shape), x elsewhere. The mask takes no gradient; x's is g
 * where the mask is 0. Causal attention masks the future with -Infinity before the softmax,
 * the mask an int32 constant of 1s above the diagonal.
 */
export const maskedFill = (x: Node, mask: Node, value: number): Node =>
  apply(movement.maskedFill, { x, mask }, { value });

/** torch.tril(x, diagonal): the last two axes' lower triangle (column − row ≤ diagonal), 0 above. */
export const tril = (x: Node, diagonal = 0): Node => apply(movement.tril, { x }, { diagonal });

/** torch.triu(x, diagonal): the last two axes' upper triangle (column − row ≥ diagonal), 0 below. */
export const triu = (x: Node, diagonal = 0): Node => apply(movement.triu, { x }, { diagonal });

/**
 * torch.arange(start, end, step) as a constant of `graph`: `arange(g, 5)` is 0..4. Integers
 * give an int32 tensor (positions for an embedding), any fraction one of the graph's dtype.
 */
export function arange(graph: Graph, start: number, end?: number, step = 1): Node {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (!(step !== 0 && Number.isFinite(from) && Number.isFinite(to) && Number.isFinite(step))) {
    throw new NinjagradError(
      `arange needs finite bounds and a nonzero step, got ${from}, ${to}, ${step}`,
    );
  }
  const n = Math.max(0, Math.ceil((to - from) / step));
  const ints = [from, to, step].every(Number.isInteger);
  const t = Tensor.zeros([n], ints ? "int32" : graph.dtype);
  for (let i = 0; i < n; i++) t.data[i] = from + i * step;
  return graph.constant(t);
}

/**
 * torch.arange(x.size(dim)) as a node that follows x: positions 0..n−1 (int32) for a batch of
 * sequences `idx` (B, T) are `arangeLike(idx, 1)`, and they grow with T when idx's shape changes
 * (sampling one more token, a longer evaluation batch), where `arange(graph, T)` is fixed.
 */
export const arangeLike = (x: Node, dim = -1): Node =>
  apply(search.arangeLike, { x }, { axis: axisIn("arangeLike", x, dim) });

/**
 * torch.argmax(x, dim, keepdim): int32 indices of the largest element along `dim` (of the
 * flattened x for null, the default), the first at a tie. No gradient.
 */
export function argmax(x: Node, dim: number | null = null, keepdim = false): Node {
  return apply(search.argmax, { x }, {
    axis: dim === null ? null : axisIn("argmax", x, dim),
    keepdim,
  });
}

/** Options of {@link topk}, as torch.topk's. */
export interface TopkOptions {
  /** The axis (default −1, the last). */
  dim?: number;
  /** The largest (default) or the smallest first. */
  largest?: boolean;
}

/**
 * torch.topk(x, k): `{ values, indices }` of the k largest (or smallest) along `dim`, sorted
 * from the largest. `indices` is int32 and takes no gradient; `values` is gather(x, dim,
 * indices) and sends its gradient back to the chosen elements.
 */
export function topk(
  x: Node,
  k: number,
  options: TopkOptions = {},
): { values: Node; indices: Node } {
  const axis = axisIn("topk", x, options.dim ?? -1), largest = options.largest ?? true;
  const indices = apply(search.topkIndices, { x }, { k, axis, largest });
  return { values: gather(x, axis, indices), indices };
}

/**
 * torch.gather(x, dim, index): out[…, i, …] = x[…, index[…, i, …], …] along `dim`, index an
 * int32 node of x's rank whose other axes equal x's. The gradient scatter-adds into x.
 */
export const gather = (x: Node, dim: number, index: Node): Node =>
  apply(search.gather, { x, index }, { axis: axisIn("gather", x, dim) });

/** Options of {@link multinomial}. */
export interface MultinomialOptions {
  /** Draw with replacement (default false, as torch). */
  replacement?: boolean;
  /** Seeds the node's own generator (default 0). */
  seed?: number;
  /** A generator to draw from instead (`seededRandom(42)`), shared with other draws. */
  generator?: Random;
}

/**
 * torch.multinomial(probs, numSamples): int32 class indices drawn per row of nonnegative weights
 * (c,) or (rows, c). Each evaluation of the node draws anew from its generator (a seed, or
 * `generator`), so one seed repeats one sequence of draws. No gradient.
 */
export function multinomial(
  probs: Node,
  numSamples: number,
  options: MultinomialOptions = {},
): Node {
  const random = options.generator ?? seededRandom(options.seed ?? 0);
  return apply(sample.multinomial, { probs }, {
    samples: numSamples,
    replacement: options.replacement ?? false,
    random,
  });
}

/** x.detach(): x's value as a node that takes and passes on no gradient. */
export const detach = (x: Operand): Node => apply(grad.detach, { x });
