/**
 * Random graphs for the property tests: a recipe (plain data, so fast-check can print and shrink
 * it) and the builder that turns any recipe into a float64 graph. Every recipe builds: a step's
 * numbers are read modulo what the graph holds at that point, so a shrunk recipe still builds.
 *
 * Leaves share one base shape, each with some leading axes dropped or some axes set to 1, so any
 * two of them broadcast; a "partner" leaf is (base[1], width), so a rank-2 base can meet it in a
 * matmul. The ops keep their inputs where they are smooth: exp sees tanh of its input, log and the
 * fractional or negative powers see a positive value (x² + 1 or exp(tanh x)), and a divisor is
 * such a positive value too.
 */
import fc from "fast-check";
import seedrandom from "seedrandom";
import {
  add,
  div,
  exp,
  Graph,
  log,
  logSoftmax,
  matmul,
  max,
  mean,
  mul,
  neg,
  type Node,
  pow,
  reshape,
  softmax,
  sub,
  sum,
  tanh,
  transpose,
  variance,
} from "../../mod.ts";
import { formatShape, type Shape, sizeOf, Tensor } from "../../ops/kernels/tensor.ts";
import { splitAt } from "../../ops/kernels/reduce.ts";
import { applyTorchStep, TORCH_OPS, torchFits, type TorchOp } from "./torch_ops.ts";

/** The lecture's ops. */
const LECTURE_OPS = [
  "add",
  "sub",
  "mul",
  "div",
  "neg",
  "pow",
  "exp",
  "log",
  "tanh",
  "sum",
  "mean",
  "max",
  "var",
  "matmul",
  "reshape",
  "transpose",
  "softmax",
  "log_softmax",
] as const;
/** The ops a step may apply: the lecture's, and those of torch_ops.ts. */
export const STEP_OPS = [...LECTURE_OPS, ...TORCH_OPS] as const;
/** One of {@link STEP_OPS}. */
export type StepOp = typeof STEP_OPS[number];

/** A leaf: the base shape with `drop` leading axes dropped and the axes flagged in `ones` set to 1, or a matmul partner. */
export interface LeafRecipe {
  partner: boolean;
  drop: number;
  ones: readonly boolean[];
  /** The partner's second axis. */
  width: number;
}

/** One op node; `x`, `y`, `axis` and `variant` are read modulo the choices there are. */
export interface StepRecipe {
  op: StepOp;
  /** Which earlier node is the (first) operand. */
  x: number;
  /** Which compatible node is the second operand (binary ops, matmul). */
  y: number;
  axis: number;
  /** Reductions keep the axis; reshape writes its first axis as -1. */
  keepdim: boolean;
  /** Small choices: operand order, exponent, positive form, reshape target, unbiased var. */
  variant: number;
}

/** A whole random graph. */
export interface GraphRecipe {
  base: readonly number[];
  leaves: readonly LeafRecipe[];
  steps: readonly StepRecipe[];
  /** Sum the output to a scalar; otherwise gradcheck seeds the non-scalar output at random. */
  toScalar: boolean;
  /** Seeds the leaves' values and gradcheck's upstream gradient. */
  valueSeed: number;
}

const leafRecipe: fc.Arbitrary<LeafRecipe> = fc.record({
  partner: fc.boolean(),
  drop: fc.nat({ max: 3 }),
  ones: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  width: fc.integer({ min: 1, max: 4 }),
});

const stepRecipe: fc.Arbitrary<StepRecipe> = fc.record({
  op: fc.constantFrom(...STEP_OPS),
  x: fc.nat({ max: 31 }),
  y: fc.nat({ max: 31 }),
  axis: fc.nat({ max: 7 }),
  keepdim: fc.boolean(),
  variant: fc.nat({ max: 63 }),
});

/** Recipes of 1–3 leaves of rank 0–3 (dims 1–4) and 2–8 op steps. */
export const graphRecipe: fc.Arbitrary<GraphRecipe> = fc.record({
  base: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 }),
  leaves: fc.array(leafRecipe, { minLength: 1, maxLength: 3 }),
  steps: fc.array(stepRecipe, { minLength: 2, maxLength: 8 }),
  toScalar: fc.boolean(),
  valueSeed: fc.nat(),
});

/** A built random graph. */
export interface RandomGraph {
  graph: Graph;
  leaves: Node[];
  /** What gradcheck differentiates. */
  out: Node;
  /** The steps that applied an op (a step whose op fits no node is skipped). */
  applied: number;
}

/** The leaf shapes a recipe asks for: leaf 0 is the base itself. */
export function leafShapes(r: GraphRecipe): number[][] {
  return r.leaves.map((leaf, i) => {
    if (i === 0) return [...r.base];
    if (leaf.partner && r.base.length === 2) return [r.base[1], leaf.width];
    const kept = r.base.slice(Math.min(leaf.drop, r.base.length));
    return kept.map((d, j) => (leaf.ones[j] ? 1 : d));
  });
}

/** Builds the recipe's graph in float64, leaves uniform in [-1.2, 1.2). */
export function buildRandomGraph(r: GraphRecipe): RandomGraph {
  const graph = new Graph({ dtype: "float64" });
  const rand = seedrandom(`values ${r.valueSeed}`);
  const leaves = leafShapes(r).map((shape, i) => {
    const t = Tensor.zeros(shape, "float64");
    for (let k = 0; k < t.size; k++) t.data[k] = 2.4 * rand() - 1.2;
    return graph.param(`leaf${i}`, t);
  });
  const pool: Node[] = [...leaves];
  let applied = 0;
  for (const step of r.steps) {
    const at = pick(pool, step.x, (n) => fits(step.op, n.shape));
    if (at === undefined) continue;
    pool.push(applyStep(step, at, pool));
    applied++;
  }
  let out = pool[pool.length - 1];
  if (applied === 0) out = tanh(out);
  // Every op node nothing else consumes joins the output, so every step is checked.
  const consumed = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const node of pool) {
    if (node.kind === "op" && node !== out && !consumed.has(node)) out = add(out, sum(node));
  }
  if (r.toScalar) out = sum(out);
  return { graph, leaves, out: out.named("out"), applied };
}

/** The first node from index `i` on (cyclically) that `ok` accepts. */
function pick(pool: readonly Node[], i: number, ok: (n: Node) => boolean): Node | undefined {
  for (let k = 0; k < pool.length; k++) {
    const n = pool[(i + k) % pool.length];
    if (ok(n)) return n;
  }
  return undefined;
}

/** Whether `op` can take a node of this shape as its first operand. */
function fits(op: StepOp, shape: Shape): boolean {
  if ((TORCH_OPS as readonly string[]).includes(op)) return torchFits(op as TorchOp, shape);
  if (op === "matmul" || op === "transpose") return shape.length === 2;
  if (op === "var") return sizeOf(shape) >= 2;
  if (op === "softmax" || op === "log_softmax") return shape.length >= 1;
  return true;
}

/** Whether two shapes broadcast together. */
export function broadcasts(a: Shape, b: Shape): boolean {
  for (let i = 1; i <= Math.min(a.length, b.length); i++) {
    const da = a[a.length - i], db = b[b.length - i];
    if (da !== db && da !== 1 && db !== 1) return false;
  }
  return true;
}

/** A positive value made from `x`: x² + 1, or exp(tanh x). */
function positive(x: Node, form: number): Node {
  return form % 2 === 0 ? add(pow(x, 2), 1) : exp(tanh(x));
}

/** Exponents: the integer ones apply to any value, the others to a positive one. */
const EXPONENTS = [2, 3, -1, -2, 0.5, -0.5, 1.5];

function applyStep(s: StepRecipe, x: Node, pool: readonly Node[]): Node {
  const rank = x.shape.length;
  const signed = (a: number) => (s.variant % 2 === 1 ? a - rank : a); // negative axes too
  const axisOf = (axes: number[], all: boolean): number | null => {
    const choices: (number | null)[] = [...axes, ...(all ? [null] : [])];
    const a = choices[s.axis % choices.length];
    return a === null ? null : signed(a);
  };
  const every = [...Array(rank).keys()];
  const partner = () => pick(pool, s.y, (n) => broadcasts(n.shape, x.shape))!; // x itself fits
  switch (s.op) {
    case "add":
    case "sub":
    case "mul": {
      const y = partner();
      const [a, b] = s.variant % 2 === 0 ? [x, y] : [y, x];
      return s.op === "add" ? add(a, b) : s.op === "sub" ? sub(a, b) : mul(a, b);
    }
    case "div":
      return div(x, positive(partner(), s.variant));
    case "neg":
      return neg(x);
    case "pow": {
      const p = EXPONENTS[s.variant % EXPONENTS.length];
      return p === 2 || p === 3 ? pow(x, p) : pow(positive(x, s.variant >> 3), p);
    }
    case "exp":
      return exp(tanh(x));
    case "log":
      return log(positive(x, s.variant));
    case "tanh":
      return tanh(x);
    case "sum":
      return sum(x, axisOf(every, true), s.keepdim);
    case "mean":
      return mean(x, axisOf(every, true), s.keepdim);
    case "max":
      return max(x, axisOf(every, true), s.keepdim);
    case "var": {
      const wide = every.filter((a) => x.shape[a] >= 2);
      return variance(x, axisOf(wide, true), s.keepdim, (s.variant >> 1) % 2 === 0);
    }
    case "matmul": {
      const options = matmulPartners(x, pool);
      const [b, transA, transB] = options[s.y % options.length];
      return matmul(x, b, transA, transB);
    }
    case "reshape": {
      const targets = reshapeTargets(sizeOf(x.shape));
      const to = [...targets[s.variant % targets.length]];
      if (s.keepdim && to.length > 0) to[0] = -1;
      return reshape(x, to);
    }
    case "transpose":
      return transpose(x);
    case "softmax":
      return softmax(x, signed(s.axis % rank));
    case "log_softmax":
      return logSoftmax(x, signed(s.axis % rank));
    default: {
      const partnerOf = (ok: (n: Node) => boolean) => pick(pool, s.y, ok) ?? x;
      return applyTorchStep(
        { ...s, op: s.op },
        x,
        pool,
        partnerOf,
        (n) => positive(n, s.variant),
        broadcasts,
      );
    }
  }
}

/** Every (b, transA, transB) with which the 2-D node `a` can be multiplied; a·aᵀ always fits. */
function matmulPartners(a: Node, pool: readonly Node[]): [Node, boolean, boolean][] {
  const out: [Node, boolean, boolean][] = [];
  for (const b of pool) {
    if (b.shape.length !== 2) continue;
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const inner = transA ? a.shape[0] : a.shape[1];
        if ((transB ? b.shape[1] : b.shape[0]) === inner) out.push([b, transA, transB]);
      }
    }
  }
  return out;
}

/** Every shape of rank 0–3 with `size` elements. */
export function reshapeTargets(size: number): number[][] {
  const out: number[][] = size === 1 ? [[]] : [];
  const divisors = [...Array(size).keys()].map((i) => i + 1).filter((d) => size % d === 0);
  out.push([size]);
  for (const a of divisors) {
    out.push([a, size / a]);
    for (const b of divisors) if ((size / a) % b === 0) out.push([a, b, size / a / b]);
  }
  return out;
}

/**
 * The smallest gap between the largest and the second largest entry (the smallest and the second
 * smallest, for min) of any slice a max (min) node reduces (Infinity when there is no max over two or more entries): near a tie, max is not
 * differentiable and central differences straddle the kink.
 */
export function smallestMaxGap(graph: Graph): number {
  let gap = Infinity;
  for (const node of graph.nodes) {
    if (node.op?.name !== "max" && node.op?.name !== "min") continue;
    const x = node.inputs[0].value;
    const [outer, n, inner] = splitAt(x.shape, (node.attrs as { axis: number | null }).axis);
    if (n < 2) continue;
    for (let i = 0; i < outer; i++) {
      for (let j = 0; j < inner; j++) {
        let top = -Infinity, second = -Infinity;
        for (let k = 0; k < n; k++) {
          const at = x.data[(i * n + k) * inner + j];
          const v = node.op.name === "min" ? -at : at;
          if (v > top) [top, second] = [v, top];
          else if (v > second) second = v;
        }
        gap = Math.min(gap, top - second);
      }
    }
  }
  return gap;
}

/** The largest magnitude of any value in the graph. */
export function largestValue(graph: Graph): number {
  let m = 0;
  for (const node of graph.nodes) for (const v of node.value.data) m = Math.max(m, Math.abs(v));
  return m;
}

/** The graph, one node a line (`#4 add(#0, #2) (2, 3)`), for failure messages. */
export function describeGraph(graph: Graph): string {
  return graph.nodes.map((n) => {
    const what = n.op
      ? `${n.op.name}(${n.inputs.map((x) => `#${x.id}`).join(", ")}) ${
        JSON.stringify(n.attrs) ?? ""
      }`
      : n.kind;
    return `#${n.id} ${n.label ?? ""} ${what} ${formatShape(n.shape)}`;
  }).join("\n");
}
