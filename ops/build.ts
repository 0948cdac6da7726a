/**
 * Functions that add a node to the graph their inputs belong to: `tanh(hpreact)`,
 * `matmul(h, W2)`. Numbers become constants. Every one evaluates its node at once.
 */
import { NinjagradError } from "./kernels/errors.ts";
import { formatShape, Tensor } from "./kernels/tensor.ts";
import type { Operand } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";
import type { Op } from "../graph/op.ts";
import { liveSizes, type SizeLike } from "../graph/size.ts";
import * as arithmetic from "./arithmetic.ts";
import * as unary from "./unary.ts";
import * as activation from "./activation.ts";
import * as select from "./select.ts";
import * as reduce from "./reduce.ts";
import { batchedMatmul, matmul as matmulOp } from "./matmul.ts";
import * as shape from "./shape.ts";
import * as layout from "./layout.ts";
import * as indexing from "./indexing.ts";
import * as sm from "./softmax.ts";
import * as nn from "./nn.ts";
import * as norm from "./norm.ts";
import * as loss from "./loss.ts";
import * as drop from "./dropout.ts";
import { inversePermutation, permutation } from "./kernels/layout.ts";

/** How many `noGrad` scopes are open: while one is, new nodes take no gradient. */
let noGradDepth = 0;
/** Each op's copy with every input marked as taking no gradient, made once per op. */
const withoutGrad = new WeakMap<Op, Op>();

/**
 * torch.no_grad: runs `fn`, and every node built while it runs tracks no gradient (its op
 * record's inputs are all marked as taking none), so a backward from one of them is refused:
 * "does not depend on any parameter". For evaluation and sampling: values only, nothing saved
 * for a backward through them. Returns what `fn` returns; `fn` must be synchronous.
 */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new NinjagradError(
        "noGrad takes a synchronous function: the nodes an async one builds after its first await would escape the scope",
      );
    }
    return result;
  } finally {
    noGradDepth--;
  }
}

/** Whether a `noGrad` scope is open now. */
export const isGradEnabled = (): boolean => noGradDepth === 0;

/**
 * The ops that only move elements (by name: concat's and stack's records are made per count):
 * on int32 nodes alone they give int32 nodes, as torch.cat of long tensors gives a long one,
 * so that indices can be shifted and padded in the graph (makemore's rolled idx).
 */
const MOVES = new Set(["concat", "stack", "slice", "expand", "roll"]);
/** Each move's int32 copy, made once per op. */
const asIndices = new WeakMap<Op, Op>();

/** Whether every input of `op` that may carry a gradient is an int32 node. */
function indicesOnly(op: Op, inputs: Record<string, Operand>): boolean {
  let any = false;
  for (const name of op.inputs) {
    if (op.nondiff.includes(name)) continue;
    const x = inputs[name];
    if (!(x instanceof Node) || x.current.dtype !== "int32") return false;
    any = true;
  }
  return any;
}

/** Applies `op` to named operands in the graph of the first node among them. */
export function apply(op: Op, inputs: Record<string, Operand>, attrs: unknown = {}): Node {
  if (op.kind === "atomic" && MOVES.has(op.name) && indicesOnly(op, inputs)) {
    let ints = asIndices.get(op);
    if (ints === undefined) asIndices.set(op, ints = { ...op, dtype: "int32" });
    op = ints;
  }
  if (noGradDepth > 0 && op.nondiff.length < op.inputs.length) {
    let bare = withoutGrad.get(op);
    if (bare === undefined) withoutGrad.set(op, bare = { ...op, nondiff: op.inputs });
    op = bare;
  }
  const node = Object.values(inputs).find((x): x is Node => x instanceof Node);
  if (!node) {
    const name = Object.keys(inputs).find((n) => typeof inputs[n] !== "number");
    const x: unknown = name === undefined ? undefined : inputs[name];
    if (x instanceof Tensor) {
      throw new NinjagradError(
        `${op.name}: input "${name}" is a Tensor (${x.dtype} ${
          formatShape(x.shape)
        }), not a node: put it in a graph first, as graph.input("${name}", t) or graph.param("${name}", t)`,
      );
    }
    throw new NinjagradError(
      `${op.name} needs at least one node among its inputs, not only numbers`,
    );
  }
  return node.graph.apply(op, inputs, attrs);
}

/** a + b (broadcasting) */
export const add = (a: Operand, b: Operand): Node => apply(arithmetic.add, { a, b });
/** a − b (broadcasting) */
export const sub = (a: Operand, b: Operand): Node => apply(arithmetic.sub, { a, b });
/** a · b (broadcasting) */
export const mul = (a: Operand, b: Operand): Node => apply(arithmetic.mul, { a, b });
/** a / b (broadcasting) */
export const div = (a: Operand, b: Operand): Node => apply(arithmetic.div, { a, b });
/** −x */
export const neg = (x: Node): Node => apply(arithmetic.neg, { x });
/** xᵖ for a number p */
export const pow = (x: Node, p: number): Node => apply(arithmetic.pow, { x }, { p });
/** eˣ */
export const exp = (x: Node): Node => apply(unary.exp, { x });
/** ln x */
export const log = (x: Node): Node => apply(unary.log, { x });
/** tanh x */
export const tanh = (x: Node): Node => apply(unary.tanh, { x });
/** √x */
export const sqrt = (x: Node): Node => apply(unary.sqrt, { x });
/** |x| */
export const abs = (x: Node): Node => apply(unary.abs, { x });
/** max(x, 0) */
export const relu = (x: Node): Node => apply(activation.relu, { x });
/** 1 / (1 + e⁻ˣ) */
export const sigmoid = (x: Node): Node => apply(activation.sigmoid, { x });
/**
 * F.gelu: x·Φ(x), Φ the standard normal distribution function (the exact erf form, PyTorch's
 * default), or with `{ approximate: "tanh" }` 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the
 * form GPT-2 and makemore's NewGELU use.
 */
export const gelu = (x: Node, options: { approximate?: "none" | "tanh" } = {}): Node => {
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") {
    throw new NinjagradError(`gelu's approximate is "none" or "tanh", got ${String(approximate)}`);
  }
  return apply(activation.gelu, { x }, { approximate });
};

/** x limited to [min, max] (torch.clamp); leave a bound out (null or undefined) for none. */
export function clamp(x: Node, min: number | null = null, max: number | null = null): Node {
  if (min === null && max === null) {
    throw new NinjagradError(
      "clamp needs a min or a max (or both): clamp(x, 0) or clamp(x, -1, 1)",
    );
  }
  return apply(select.clamp, { x }, { min, max });
}
/** The elementwise larger of a and b (broadcasting), as torch.maximum. */
export const maximum = (a: Operand, b: Operand): Node => apply(select.maximum, { a, b });
/** The elementwise smaller of a and b (broadcasting), as torch.minimum. */
export const minimum = (a: Operand, b: Operand): Node => apply(select.minimum, { a, b });
/**
 * cond ? a : b elementwise (broadcasting), as torch.where: cond holds 0s and 1s (an int32 tensor
 * or a constant) and takes no gradient.
 */
export const where = (cond: Operand, a: Operand, b: Operand): Node =>
  apply(select.where, { cond, a, b });
/** Σ over `axis` (all axes when null). */
export const sum = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.sum, { x }, { axis, keepdim });
/** Mean over `axis` (all axes when null). */
export const mean = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.mean, { x }, { axis, keepdim });
/** Max over `axis` (values only; the gradient goes to the first arg-max). */
export const max = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.max, { x }, { axis, keepdim });
/** Min over `axis` (values only; the gradient goes to the first arg-min). */
export const min = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.min, { x }, { axis, keepdim });
/** Variance over `axis`, unbiased (n − 1) by default. */
export const variance = (
  x: Node,
  axis: number | null = null,
  keepdim = false,
  unbiased = true,
): Node => apply(reduce.variance, { x }, { axis, keepdim, unbiased });
/** The rank of an operand, or undefined for what is not a node (apply's checks name it). */
const rank = (x: unknown): number | undefined => x instanceof Node ? x.shape.length : undefined;

/**
 * torch.matmul: op(a) @ op(b) for two matrices (transposes read in place, never copied); for
 * other ranks, matrices batched over the leading axes, which broadcast, and a vector on either
 * side (a row on the left, a column on the right, its axis dropped from the result).
 */
export function matmul(a: Node, b: Node, transA = false, transB = false): Node {
  const ra = rank(a), rb = rank(b);
  if ((ra === 2 && rb === 2) || ra === undefined || rb === undefined) {
    return apply(matmulOp, { a, b }, { transA, transB });
  }
  if (transA || transB) {
    throw new NinjagradError(
      `matmul's transA and transB are for two matrices; ${a.name} is ${
        formatShape(a.shape)
      } and ${b.name} ${formatShape(b.shape)}: transpose a batch with transpose(x, -2, -1)`,
    );
  }
  return apply(batchedMatmul, { a, b });
}
/**
 * The same elements in another shape (`-1` infers an axis). A size may be live, read off a node
 * on every run (`reshape(xt, [idx.size(0), -1])`); numbers then stay as written. With numbers
 * only, leading sizes equal to x's own follow x when its shape changes (`reshape(x, [B, -1])`
 * built with B = 32 views a batch of 10 as (10, …)); write an axis whose size changes otherwise
 * as `-1`.
 */
export function reshape(x: Node, to: readonly SizeLike[]): Node {
  const { like, specs } = liveSizes("reshape", to);
  if (like !== undefined) return apply(shape.reshapeSized, { x, like }, { shape: specs });
  const built = x instanceof Node ? x.shape : undefined;
  return apply(shape.reshape, { x }, { shape: to as readonly number[], built });
}
/**
 * x's elements viewed as `like`'s first `lead` sizes followed by one inferred axis, the sizes
 * read off `like` on every run: rows (B·T, C) back into (B, T, C) as `like`, (B, T, ·), is now.
 */
export const reshapeLike = (x: Node, like: Node, lead: number): Node =>
  apply(shape.reshapeLike, { x, like }, { lead });

/**
 * torch.transpose: swaps axes dim0 and dim1 of a tensor of any rank; `transpose(x)` is the 2-D
 * transpose (x.T).
 */
export function transpose(x: Node, dim0?: number, dim1?: number): Node {
  const r = rank(x);
  if (dim0 === undefined && dim1 === undefined) {
    if (r !== undefined && r !== 2) {
      throw new NinjagradError(
        `transpose(${x.name}) swaps the two axes of a matrix, but ${x.name} is ${
          formatShape(x.shape)
        }: name the axes to swap, as transpose(${x.name}, 0, 1)`,
      );
    }
    return apply(shape.transpose, { x });
  }
  if (dim0 === undefined || dim1 === undefined || r === undefined) {
    throw new NinjagradError("transpose(x, dim0, dim1) needs both axes");
  }
  const axes = [...Array(r).keys()];
  const [a, b] = [dim0, dim1].map((d) => (d < 0 ? d + r : d));
  if (!(a >= 0 && a < r && b >= 0 && b < r)) {
    throw new NinjagradError(
      `transpose: axes ${dim0} and ${dim1} are out of range for ${x.name} ${formatShape(x.shape)}`,
    );
  }
  if (r === 2 && a !== b) return apply(shape.transpose, { x });
  [axes[a], axes[b]] = [axes[b], axes[a]];
  return apply(layout.transposeAxes, { x }, { axes, inverse: axes });
}

/** x.permute(axes): output axis i is input axis axes[i] (negative axes count from the end). */
export function permute(x: Node, axes: readonly number[]): Node {
  const r = rank(x);
  const order = r === undefined ? [...axes] : permutation(axes, r);
  return apply(layout.permute, { x }, { axes: order, inverse: inversePermutation(order) });
}

/** The inputs of a variadic op by name (`x0`, `x1`, …), or an error for an empty list. */
function numbered(what: string, nodes: readonly Operand[]): Record<string, Operand> {
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new NinjagradError(`${what} needs a non-empty array of nodes, as ${what}([a, b], 0)`);
  }
  const inputs: Record<string, Operand> = {};
  nodes.forEach((x, i) => (inputs[`x${i}`] = x));
  return inputs;
}

/** torch.cat: the nodes joined along an existing axis (default 0). */
export const concat = (nodes: readonly Operand[], axis = 0): Node =>
  apply(layout.concat(nodes.length), numbered("concat", nodes), { axis });
/** torch.stack: nodes of one shape joined along a new axis (default 0). */
export const stack = (nodes: readonly Operand[], axis = 0): Node =>
  apply(layout.stack(nodes.length), numbered("stack", nodes), { axis });
/**
 * x[..., start:end, ...] along `axis`, with Python's rules: negative indices count from the end,
 * bounds are clipped; `end` defaults to the axis's length. A bound may be live, read off a node
 * on every run: makemore's `self.bias[:, :, :T, :T]` is `slice(bias, -1, 0, x.size(1))`.
 */
export function slice(x: Node, axis: number, start: SizeLike, end: SizeLike | null = null): Node {
  const { like, specs: [from, to] } = liveSizes("slice", [start, end]);
  if (like !== undefined) {
    return apply(layout.sliceSized, { x, like }, { axis, start: from!, end: to });
  }
  return apply(layout.slice, { x }, { axis, start, end });
}
/** `table[idx]`: rows of a table by an integer index tensor of any shape. */
export const embedding = (table: Node, idx: Node): Node =>
  apply(indexing.embedding, { table, idx });
/** `x[range(n), idx]` */
export const pick = (x: Node, idx: Node): Node => apply(indexing.pick, { x, idx });
/** One-hot rows (not differentiable). */
export const oneHot = (idx: Node, classes: number): Node =>
  apply(indexing.oneHot, { idx }, { classes });
/** softmax along `axis` */
export const softmax = (x: Node, axis = -1): Node => apply(sm.softmax, { x }, { axis });
/** log-softmax along `axis` */
export const logSoftmax = (x: Node, axis = -1): Node => apply(sm.logSoftmax, { x }, { axis });
/** Options of {@link crossEntropy}, PyTorch's `ignore_index` and `label_smoothing`. */
export interface CrossEntropyOptions {
  /**
   * Targets equal to this are left out of the loss and of its mean (makemore pads with −1);
   * PyTorch's default is −100.
   */
  ignoreIndex?: number;
  /** ε in [0, 1]: the target distribution is (1 − ε)·onehot + ε/C (default 0). */
  labelSmoothing?: number;
}

/**
 * F.cross_entropy: the mean over the targets of −log softmax(logits)[target]. Logits (n, C) with
 * targets (n,) and no options build the lecture's composite (its steps labelled `logit_maxes`,
 * `probs`, `logprobs`…, with the closed form of exercise 2); logits of any other rank, the
 * classes on the last axis ((B, T, C) with targets (B, T)), or either option, take one kernel
 * that leaves out targets equal to `ignoreIndex` and averages over the rest, as PyTorch does.
 */
export function crossEntropy(
  logits: Node,
  targets: Node,
  options: CrossEntropyOptions = {},
): Node {
  if (targets instanceof Node && targets.value.dtype !== "int32") {
    throw new NinjagradError(
      `crossEntropy: the targets ${targets.name} are ${targets.value.dtype} ${
        formatShape(targets.shape)
      }, but they must be class indices: make them int32, as Tensor.from(ys, "int32") (for float targets use mseLoss)`,
    );
  }
  const { ignoreIndex, labelSmoothing = 0 } = options;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new NinjagradError(`crossEntropy's labelSmoothing is in [0, 1], got ${labelSmoothing}`);
  }
  if (ignoreIndex !== undefined && !Number.isInteger(ignoreIndex)) {
    throw new NinjagradError(`crossEntropy's ignoreIndex is an integer, got ${ignoreIndex}`);
  }
  const lecture = ignoreIndex === undefined && labelSmoothing === 0 &&
    (!(logits instanceof Node) || logits.shape.length === 2);
  if (!lecture) {
    return apply(loss.crossEntropyAny, { logits, targets }, {
      ignoreIndex: ignoreIndex ?? -100,
      labelSmoothing,
    });
  }
  if (targets instanceof Node && logits instanceof Node) {
    if (targets.shape.length !== 1 || logits.shape[0] !== targets.shape[0]) {
      throw new NinjagradError(
        `crossEntropy needs logits (n, classes) and targets (n,), got ${logits.name} ${
          formatShape(logits.shape)
        } and ${targets.name} ${formatShape(targets.shape)}`,
      );
    }
  }
  return apply(nn.crossEntropy, { logits, targets });
}
/** Training-mode batchnorm over the batch axis: a composite op. */
export const batchNorm = (x: Node, gain: Node, bias: Node, eps = 1e-5): Node =>
  apply(nn.batchNorm, { x, gain, bias }, { eps });
/**
 * Layer normalisation over the last axis (F.layer_norm with gain and bias shaped as that axis):
 * a composite op with a closed-form rule.
 */
export const layerNorm = (x: Node, gain: Operand, bias: Operand, eps = 1e-5): Node =>
  apply(norm.layerNorm, { x, gain, bias }, { eps });
/** The mean squared error, mean((pred − target)²) (F.mse_loss): a composite op. */
export const mseLoss = (pred: Node, target: Operand): Node => apply(loss.mseLoss, { pred, target });

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** Drop (true, the default) or pass x through unchanged (evaluation). */
  training?: boolean;
  /** Seeds the masks (default 0): the same seed draws the same masks in the same order. */
  seed?: number;
}

/**
 * F.dropout: in training, each element of x is zeroed with probability p and the others are
 * scaled by 1/(1 − p). The mask is drawn from `seed` and drawn anew after every backward pass
 * that notifies observers (graph.backward's default), so each training step sees a new mask, while
 * recomputations in between (gradcheck's, compare's) see the same one.
 */
export function dropout(x: Node, p = 0.5, options: DropoutOptions = {}): Node {
  if (!(p >= 0 && p <= 1)) {
    throw new NinjagradError(`dropout's p is a probability in [0, 1], got ${p}`);
  }
  const { training = true, seed = 0 } = options;
  const draws = { count: 0 };
  const node = apply(drop.dropout, { x }, { p, training, seed, draws });
  if (training) node.graph.gradients$.subscribe(() => draws.count++);
  return node;
}

/** x @ w + b: a composite op. */
export const linear = (x: Node, w: Node, b: Node): Node => apply(nn.linear, { x, w, b });
