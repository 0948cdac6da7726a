/**
 * Functions that add a node to the graph their inputs belong to: `tanh(hpreact)`,
 * `matmul(h, W2)`. Numbers become constants. Every one evaluates its node at once.
 */
import { NinjagradError } from "./kernels/errors.ts";
import type { Operand } from "../graph/graph.ts";
import { Node } from "../graph/node.ts";
import type { Op } from "../graph/op.ts";
import * as arithmetic from "./arithmetic.ts";
import * as unary from "./unary.ts";
import * as reduce from "./reduce.ts";
import { matmul as matmulOp } from "./matmul.ts";
import * as shape from "./shape.ts";
import * as indexing from "./indexing.ts";
import * as sm from "./softmax.ts";
import * as nn from "./nn.ts";

/** Applies `op` to named operands in the graph of the first node among them. */
export function apply(op: Op, inputs: Record<string, Operand>, attrs: unknown = {}): Node {
  const node = Object.values(inputs).find((x): x is Node => x instanceof Node);
  if (!node) {
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
/** Σ over `axis` (all axes when null). */
export const sum = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.sum, { x }, { axis, keepdim });
/** Mean over `axis` (all axes when null). */
export const mean = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.mean, { x }, { axis, keepdim });
/** Max over `axis` (values only; the gradient goes to the first arg-max). */
export const max = (x: Node, axis: number | null = null, keepdim = false): Node =>
  apply(reduce.max, { x }, { axis, keepdim });
/** Variance over `axis`, unbiased (n − 1) by default. */
export const variance = (
  x: Node,
  axis: number | null = null,
  keepdim = false,
  unbiased = true,
): Node => apply(reduce.variance, { x }, { axis, keepdim, unbiased });
/** op(a) @ op(b), 2-D; transposes are read in place. */
export const matmul = (a: Node, b: Node, transA = false, transB = false): Node =>
  apply(matmulOp, { a, b }, { transA, transB });
/** The same elements in another shape (`-1` infers an axis). */
export const reshape = (x: Node, to: readonly number[]): Node =>
  apply(shape.reshape, { x }, { shape: to });
/** The 2-D transpose. */
export const transpose = (x: Node): Node => apply(shape.transpose, { x });
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
/** Mean cross-entropy of logits (n, c) against integer targets (n,): a composite op. */
export const crossEntropy = (logits: Node, targets: Node): Node =>
  apply(nn.crossEntropy, { logits, targets });
/** Training-mode batchnorm over the batch axis: a composite op. */
export const batchNorm = (x: Node, gain: Node, bias: Node, eps = 1e-5): Node =>
  apply(nn.batchNorm, { x, gain, bias }, { eps });
/** x @ w + b: a composite op. */
export const linear = (x: Node, w: Node, b: Node): Node => apply(nn.linear, { x, w, b });
