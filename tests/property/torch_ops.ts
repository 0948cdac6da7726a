/**
 * The random graphs' steps for the ops a PyTorch user expects beyond the lecture's: activations,
 * clamp, maximum, minimum, where, min, concat, stack, slice, permute, the N-D transpose, the
 * batched matmul, layerNorm, mseLoss and dropout. Each reads its choices from the step's numbers
 * (modulo what fits), as random_graph.ts does, and `smallestKink` says how close any value comes
 * to a point where one of these ops has no derivative (central differences straddle it there).
 */
import {
  abs,
  clamp,
  concat,
  dropout,
  gelu,
  type Graph,
  layerNorm,
  matmul,
  maximum,
  min,
  minimum,
  mseLoss,
  type Node,
  permute,
  relu,
  sigmoid,
  slice,
  sqrt,
  stack,
  Tensor,
  transpose,
  where,
} from "../../mod.ts";
import { batchedMatmulShape } from "../../ops/kernels/batched.ts";
import { broadcastIndex } from "../../ops/kernels/select.ts";
import { type Shape, sizeOf } from "../../ops/kernels/tensor.ts";

/** The ops of this file. */
export const TORCH_OPS = [
  "relu",
  "sigmoid",
  "gelu",
  "sqrt",
  "abs",
  "clamp",
  "maximum",
  "minimum",
  "where",
  "min",
  "concat",
  "stack",
  "slice",
  "permute",
  "transpose_nd",
  "bmm",
  "layer_norm",
  "mse_loss",
  "dropout",
] as const;
/** One of {@link TORCH_OPS}. */
export type TorchOp = typeof TORCH_OPS[number];

/** What a step reads: its numbers, and the helpers of random_graph.ts it needs. */
export interface TorchStep {
  op: TorchOp;
  y: number;
  axis: number;
  keepdim: boolean;
  variant: number;
}

/** Whether `op` can take a node of this shape as its first operand. */
export function torchFits(op: TorchOp, shape: Shape): boolean {
  switch (op) {
    case "concat":
    case "slice":
    case "bmm":
    case "layer_norm":
      return shape.length >= 1;
    case "permute":
    case "transpose_nd":
      return shape.length >= 2;
    default:
      return true;
  }
}

/** Whether `p` broadcasts into `x` without changing x's shape. */
function fitsInto(p: Shape, x: Shape): boolean {
  if (p.length > x.length) return false;
  for (let i = 1; i <= p.length; i++) {
    const d = p[p.length - i];
    if (d !== 1 && d !== x[x.length - i]) return false;
  }
  return true;
}

const CLAMPS: readonly [number | null, number | null][] = [
  [-0.5, 0.5],
  [0, null],
  [null, 0.3],
  [-1, 0.2],
];

/** The permutation of `rank` axes numbered `k` (Lehmer code, k read modulo rank!). */
function nthPermutation(rank: number, k: number): number[] {
  const left = [...Array(rank).keys()], out: number[] = [];
  for (let n = rank; n > 0; n--) {
    out.push(left.splice(k % n, 1)[0]);
    k = Math.floor(k / n);
  }
  return out;
}

/** Every node b of the pool that `matmul(x, b)` accepts. */
function matmulPartners(x: Node, pool: readonly Node[]): Node[] {
  const lift = (s: Shape, left: boolean) =>
    s.length === 1 ? (left ? [1, s[0]] : [s[0], 1]) : [...s];
  const NN = { transA: false, transB: false };
  return pool.filter((b) => {
    if (b.shape.length === 0) return false;
    try {
      batchedMatmulShape(lift(x.shape, true), lift(b.shape, false), NN);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Applies the step to `x`; `partner(ok)` picks a node of the pool that `ok` accepts (x itself
 * when none other does, for the checks that x passes), `positive` makes a positive node of one.
 */
export function applyTorchStep(
  s: TorchStep,
  x: Node,
  pool: readonly Node[],
  partner: (ok: (n: Node) => boolean) => Node,
  positive: (n: Node) => Node,
  broadcasts: (a: Shape, b: Shape) => boolean,
): Node {
  const rank = x.shape.length;
  const axis = (n: number) => (s.variant % 2 === 1 ? (s.axis % n) - n : s.axis % n);
  switch (s.op) {
    case "relu":
      return relu(x);
    case "sigmoid":
      return sigmoid(x);
    case "gelu":
      return gelu(x);
    case "sqrt":
      return sqrt(positive(x));
    case "abs":
      return abs(x);
    case "clamp": {
      const [lo, hi] = CLAMPS[s.variant % CLAMPS.length];
      return clamp(x, lo, hi);
    }
    case "maximum":
    case "minimum": {
      const y = partner((n) => broadcasts(n.shape, x.shape));
      const [a, b] = s.variant % 2 === 0 ? [x, y] : [y, x];
      return s.op === "maximum" ? maximum(a, b) : minimum(a, b);
    }
    case "where": {
      const y = partner((n) => broadcasts(n.shape, x.shape));
      const cond = Tensor.zeros(x.shape, "int32");
      for (let i = 0; i < cond.size; i++) cond.data[i] = ((s.variant >> (i % 5)) + i) % 2;
      return where(x.graph.constant(cond), x, y);
    }
    case "min":
      return min(x, rank === 0 || s.axis % (rank + 1) === rank ? null : axis(rank), s.keepdim);
    case "concat": {
      const a = axis(rank), ax = a < 0 ? a + rank : a;
      const y = partner((n) =>
        n.shape.length === rank && n.shape.every((d, j) => j === ax || d === x.shape[j])
      );
      return concat(s.variant % 4 < 2 ? [x, y] : [y, x, y], a);
    }
    case "stack": {
      const y = partner((n) =>
        n.shape.length === rank && n.shape.every((d, j) => d === x.shape[j])
      );
      return stack([x, y], s.axis % (rank + 1));
    }
    case "slice": {
      const a = axis(rank), n = x.shape[a < 0 ? a + rank : a];
      const start = s.y % n, end = start + 1 + ((s.variant >> 2) % (n - start));
      // Negative bounds now and then: the same slice, counted from the end.
      return s.keepdim
        ? slice(x, a, start - n, end === n ? null : end - n)
        : slice(x, a, start, end);
    }
    case "permute":
      return permute(x, nthPermutation(rank, s.variant));
    case "transpose_nd":
      return transpose(x, s.axis % rank, s.y % rank);
    case "bmm": {
      // x @ xᵀ always fits (x · x for a vector); other partners when some fit.
      const options = matmulPartners(x, pool);
      const self = () => (rank === 1 ? matmul(x, x) : matmul(x, transpose(x, -1, -2)));
      if (options.length === 0 || s.variant % 3 === 0) return self();
      return matmul(x, options[s.y % options.length]);
    }
    case "layer_norm": {
      const gain = partner((n) => fitsInto(n.shape, x.shape));
      const bias = partner((n) => fitsInto(n.shape, x.shape) && n !== gain);
      return layerNorm(x, gain, s.keepdim ? bias : 0.1);
    }
    case "mse_loss":
      return mseLoss(x, partner((n) => broadcasts(n.shape, x.shape)));
    case "dropout":
      return dropout(x, [0.2, 0.5, 0.8][s.variant % 3], {
        training: s.variant % 4 !== 3,
        seed: s.y,
      });
  }
}

/** The smallest |u − v| over the broadcast pairs of two tensors. */
function smallestGap(a: Tensor, b: Tensor, shape: Shape): number {
  const ia = broadcastIndex(a.shape, shape), ib = broadcastIndex(b.shape, shape);
  let gap = Infinity;
  for (let i = 0; i < sizeOf(shape); i++) {
    gap = Math.min(gap, Math.abs(a.data[ia[i]] - b.data[ib[i]]));
  }
  return gap;
}

/**
 * How close any input of relu, abs, clamp, maximum or minimum comes to its kink (0, a bound, the
 * other operand), and how small a layer norm's row variance gets (Infinity when there is none).
 * Where both operands of maximum or minimum are one node, the tie moves with it: no kink.
 */
export function smallestKink(graph: Graph): number {
  let gap = Infinity;
  for (const node of graph.nodes) {
    const name = node.op?.name, x = node.inputs[0]?.value;
    if (name === "relu" || name === "abs") {
      for (const v of x.data) gap = Math.min(gap, Math.abs(v));
    } else if (name === "clamp") {
      const { min: lo, max: hi } = node.attrs as { min: number | null; max: number | null };
      for (const v of x.data) {
        if (lo !== null) gap = Math.min(gap, Math.abs(v - lo));
        if (hi !== null) gap = Math.min(gap, Math.abs(v - hi));
      }
    } else if ((name === "maximum" || name === "minimum") && node.inputs[0] !== node.inputs[1]) {
      gap = Math.min(gap, smallestGap(x, node.inputs[1].value, node.shape));
    } else if (name === "layernorm") {
      const lnvar = (node.saved as Record<string, Tensor>).lnvar;
      for (const v of lnvar.data) gap = Math.min(gap, 10 * v);
    }
  }
  return gap;
}
