/**
 * The lecture's `cmp`, for a whole graph at once: run the automatic rules and the overridden
 * (hand-written) ones on the same forward values and compare the gradient of every node, named or
 * not, with a shape check that the lecture's cmp lacked; name the first node in backward order
 * whose gradient differs, and the hand-written rule that made it.
 *
 * "Approximate" follows from the arithmetic, not from one atol: a backward pass is linear in its
 * seed, so running the automatic rules again with the seed scaled by a number that is not a power
 * of two gives the same gradients in exact arithmetic, and in floating point differs from the
 * first run by as much as rounding moves each gradient, cancellations included. A node's
 * hand-written gradient is approximate when it is within `ROUNDING_FACTOR` times that, plus as
 * many roundings of the gradient's largest entry. A gradient that does not scale with its seed at
 * all is rounding noise: zero in exact arithmetic (`zeroInTruth`).
 */
import { NinjagradError } from "../ops/kernels/errors.ts";
import type { Gradients } from "./backward.ts";
import { nodeText } from "./describe.ts";
import type { Graph } from "./graph.ts";
import type { Node } from "./node.ts";
import { automaticRule } from "./rules.ts";
import { seededRandom } from "../ops/kernels/random.ts";
import { formatShape, sameShape, type Shape, Tensor } from "../ops/kernels/tensor.ts";

/** Options of `graph.compare`. */
export interface CompareOptions {
  /**
   * Relative tolerance: given (with or without `atol`), "approximate" is allclose, as the
   * lecture's cmp (atol then defaults to 1e-8); left out, it follows from the arithmetic.
   */
  rtol?: number;
  /** Absolute tolerance of allclose (rtol then defaults to 1e-5). */
  atol?: number;
  /**
   * Which nodes get a row, in this order (default: every node that receives a gradient but the
   * loss, labelled or not, in backward order). A node fed by a hand-written rule that failed gets
   * a row in any case, after these.
   */
  labels?: readonly string[];
  /** The upstream gradient of the loss (default ones of its shape). */
  seed?: Tensor;
  /**
   * Random upstream gradients each hand-written rule is also judged on (default 2; 0: none).
   * A rule is linear in its upstream gradient, so it must agree on any: this judges a rule whose
   * true gradient is zero. Rules are probed from their own node where no hand-written rule of a
   * node after it feeds it (such a rule may read what that one was given).
   */
  probes?: number;
}

/** One row of the comparison: one node's hand-written gradient against the automatic one. */
export interface ComparisonRow {
  /** The node's name: its label, or its op and position (`add#4`) for an unlabelled node. */
  name: string;
  /** What the node computes, for reading: its label, or an expression (`x @ W1 + b1`). */
  text: string;
  /** The node compared. */
  node: Node;
  /** The node's shape, which the automatic gradient has. */
  shape: Shape;
  /** Every element equal. */
  exact: boolean;
  /** maxdiff within `tolerance`, and the shapes match. */
  approximate: boolean;
  /** The largest absolute difference (NaN when the shapes differ). */
  maxdiff: number;
  /** maxdiff over the automatic gradient's largest |entry| (Infinity when that is 0). */
  relerr: number;
  /** The largest maxdiff that counts as approximate for this node. */
  tolerance: number;
  /**
   * The automatic gradient is rounding noise: it does not scale with the seed, so it is zero in
   * exact arithmetic (b1 before a batchnorm, logit_maxes before a softmax). A hand-written rule
   * cannot be judged on it: any sign or factor of noise is noise.
   */
  zeroInTruth: boolean;
  /** Whether the hand-written gradient has the node's shape. */
  shapeMatch: boolean;
  /** The shape the hand-written side produced. */
  shapeGot: Shape;
  /** Whether this node's own rule is hand-written. */
  overridden: boolean;
  /** What went wrong in the rule feeding this gradient (threw, wrong shape, not finite). */
  error?: string;
  /**
   * The hand-written rule that gives this gradient agrees on the true upstream gradient but not
   * on a random one (a probe): which rule, and by how much.
   */
  probe?: { blame: Blame; maxdiff: number; tolerance: number };
}

/** The hand-written rule that made the first divergent gradient: the rule to check first. */
export interface Blame {
  /** The node whose rule it is (a consumer of the first divergent node). */
  node: Node;
  /** Its name (`h1`, `tanh#5`). */
  name: string;
  /** What it computes, for reading. */
  text: string;
  /** The rule's input: the op's name for the first divergent node (`x`, `a`). */
  input: string;
}

/** The whole comparison. */
export interface Comparison {
  /** One row per compared node, in backward order. */
  rows: ComparisonRow[];
  /** How "approximate" was decided: from the arithmetic, or allclose with given tolerances. */
  judged: "rounding" | "allclose";
  /** allclose's relative tolerance, when judged so. */
  rtol?: number;
  /** allclose's absolute tolerance, when judged so. */
  atol?: number;
  /** The first row in backward order that is not approximate (or failed), if any. */
  firstDivergent: ComparisonRow | undefined;
  /** The hand-written rules that made the first divergent gradient (empty when none diverges). */
  blame: Blame[];
}

/** How many roundings (of the noise a scaled seed shows, and of the largest entry) are allowed. */
export const ROUNDING_FACTOR = 16;

/**
 * Above this fraction of the gradient's largest entry, the change a scaled seed makes means the
 * gradient is rounding noise. A real gradient changes by a few roundings (1e-7 in float32).
 */
export const NOISE_FRACTION = 0.01;

/** Machine epsilon of each float dtype. */
export const EPSILON = { float32: 2 ** -23, float64: 2 ** -52 } as const;

/** Seed scales: not powers of two, so that every product rounds differently. */
export const SEED_SCALES: readonly number[] = [0.8246211251235321, 1.2360679774997896];

/** See the module comment. */
export function compare(graph: Graph, loss: Node, options: CompareOptions = {}): Comparison {
  const allclose = options.rtol !== undefined || options.atol !== undefined;
  const rtol = options.rtol ?? 1e-5, atol = options.atol ?? 1e-8;
  // Every element of a non-scalar output counts once, as the lecture's cmp of a sum would.
  const seed = options.seed ?? Tensor.full(loss.shape, 1, graph.dtype);
  const auto = graph.backward(loss, { overrides: false, notify: false, seed });
  const failures = new Map<number, { message: string; shape?: Shape; node: Node; input: string }>();
  const mine = graph.backward(loss, {
    overrides: true,
    notify: false,
    seed,
    // A failed rule is recorded against the input it feeds; the automatic gradient stands in
    // so that the rest of the comparison still runs.
    onRuleError: (f) => {
      const input = f.node.inputs[f.node.op!.inputs.indexOf(f.input)];
      failures.set(input.id, {
        message: f.message,
        shape: f.returnedShape,
        node: f.node,
        input: f.input,
      });
      return f.automatic();
    },
  });
  const nodes = options.labels
    ? options.labels.map((l) => graph.node(l))
    : auto.nodes().filter((n) => n !== loss); // the loss's own gradient is the seed
  // A failed rule always gets a row, even where it feeds a node left out of `labels`.
  for (const id of failures.keys()) {
    if (!nodes.some((n) => n.id === id)) nodes.push(graph.nodes[id]);
  }
  if (!options.labels) nodes.sort((x, y) => y.id - x.id);
  const noise = roundingNoise(graph, loss, seed, auto, nodes);
  const eps = EPSILON[graph.dtype];
  const probed = probeRules(
    graph,
    auto,
    options.probes ?? 2,
    allclose ? { rtol, atol } : undefined,
  );
  const rows = nodes.map((node): ComparisonRow => {
    const a = auto.get(node), m = mine.get(node);
    if (!a || !m) {
      throw new NinjagradError(
        `${node.name} receives no gradient from ${loss.name}; leave it out of the comparison`,
      );
    }
    const failure = failures.get(node.id);
    const shapeGot = failure?.shape ?? m.shape;
    const shapeMatch = sameShape(shapeGot, node.shape) && sameShape(m.shape, a.shape);
    const scale = largest(a), rounding = noise.get(node) ?? 0;
    const zeroInTruth = scale === 0 || rounding > NOISE_FRACTION * scale;
    // A gradient that is all noise is itself a sample of its rounding: its size counts too.
    const tolerance = allclose
      ? atol + rtol * scale
      : ROUNDING_FACTOR * (zeroInTruth ? Math.max(rounding, scale) : rounding + eps * scale);
    const d = failure?.shape ? undefined : diff(m, a, allclose ? rtol : 0, allclose ? atol : 0);
    const maxdiff = d ? d.maxdiff : NaN;
    const probe = probed.get(node);
    const approximate = d !== undefined && !failure && !probe &&
      (allclose ? d.allclose : maxdiff <= tolerance);
    return {
      name: node.name,
      text: nodeText(node),
      node,
      shape: node.shape,
      exact: d !== undefined && d.exact && !failure,
      approximate,
      maxdiff,
      relerr: scale > 0 ? maxdiff / scale : maxdiff === 0 ? 0 : Infinity,
      tolerance,
      zeroInTruth,
      shapeMatch,
      shapeGot,
      overridden: node.override !== undefined,
      error: failure?.message,
      ...(probe ? { probe } : {}),
    };
  });
  const backwardOrder = [...rows].sort((x, y) => y.node.id - x.node.id);
  const firstDivergent = backwardOrder.find((r) => !r.approximate || !r.shapeMatch);
  const failure = firstDivergent && failures.get(firstDivergent.node.id);
  const blame = !firstDivergent
    ? []
    : failure
    ? [blameOf(failure.node, failure.input)]
    : firstDivergent.probe && firstDivergent.maxdiff <= firstDivergent.tolerance
    ? [firstDivergent.probe.blame]
    : culprits(graph, firstDivergent, auto);
  return {
    rows,
    judged: allclose ? "allclose" : "rounding",
    ...(allclose ? { rtol, atol } : {}),
    firstDivergent,
    blame,
  };
}

/**
 * How far each node's automatic gradient moves when the seed is scaled (and scaled back): the
 * rounding in it, as the arithmetic that made it produces it.
 */
function roundingNoise(
  graph: Graph,
  loss: Node,
  seed: Tensor,
  auto: Gradients,
  nodes: readonly Node[],
): Map<Node, number> {
  const out = new Map<Node, number>();
  for (const c of SEED_SCALES) {
    const scaled = Tensor.zeros(seed.shape, graph.dtype);
    for (let i = 0; i < seed.size; i++) scaled.data[i] = seed.data[i] * c;
    const other = graph.backward(loss, { overrides: false, notify: false, seed: scaled });
    for (const node of nodes) {
      const a = auto.get(node), b = other.get(node);
      if (!a || !b) continue;
      let worst = out.get(node) ?? 0;
      for (let i = 0; i < a.size; i++) worst = Math.max(worst, Math.abs(b.data[i] / c - a.data[i]));
      out.set(node, worst);
    }
  }
  return out;
}

/**
 * Judges hand-written rules on random upstream gradients: from each node with a hand-written
 * rule that no hand-written rule after it feeds, a backward pass of its own seeded with a random
 * tensor (as large as its true gradient), automatic and hand-written, compared at its inputs
 * within their rounding. Returns the inputs whose gradient differs there, with the rule.
 */
function probeRules(
  graph: Graph,
  auto: Gradients,
  probes: number,
  allclose: { rtol: number; atol: number } | undefined,
): Map<Node, ProbeFailure> {
  const out = new Map<Node, ProbeFailure>();
  if (!(probes > 0)) return out;
  const fed = new Set<Node>(); // nodes a hand-written rule of a later node sends gradient to
  for (const c of graph.nodes) {
    if (!c.override || !auto.get(c)) continue;
    c.op!.inputs.forEach((name, j) => {
      if (c.override![name]) fed.add(c.inputs[j]);
    });
  }
  const eps = EPSILON[graph.dtype];
  for (const root of graph.nodes) {
    const g = auto.get(root);
    if (!root.override || !g || fed.has(root)) continue;
    const size = largest(g) || 1;
    const random = seededRandom(0x9e3779b9 ^ root.id);
    for (let k = 0; k < probes; k++) {
      const p = Tensor.zeros(root.shape, graph.dtype);
      for (let i = 0; i < p.size; i++) p.data[i] = size * (2 * random() - 1);
      const a = graph.backward(root, { overrides: false, notify: false, seed: p });
      const m = graph.backward(root, {
        overrides: true,
        notify: false,
        seed: p,
        onRuleError: (f) => f.automatic(), // reported by the pass on the true gradient
      });
      const inputs = root.inputs.filter((_x, j) => root.override![root.op!.inputs[j]]);
      const noise = roundingNoise(graph, root, p, a, inputs);
      root.op!.inputs.forEach((name, j) => {
        const x = root.inputs[j], ax = a.get(x), mx = m.get(x);
        if (!root.override![name] || !ax || !mx || out.has(x) || !sameShape(ax.shape, mx.shape)) {
          return;
        }
        const scale = largest(ax);
        const tolerance = allclose
          ? allclose.atol + allclose.rtol * scale
          : ROUNDING_FACTOR * ((noise.get(x) ?? 0) + eps * scale);
        const d = diff(mx, ax, allclose?.rtol ?? 0, allclose?.atol ?? 0);
        if (!(allclose ? d.allclose : d.maxdiff <= tolerance)) {
          out.set(x, { blame: blameOf(root, name), maxdiff: d.maxdiff, tolerance });
        }
      });
    }
  }
  return out;
}

type ProbeFailure = NonNullable<ComparisonRow["probe"]>;

/**
 * The nodes whose gradient from `loss` is zero in exact arithmetic: the automatic gradient, run
 * again with the seed scaled, does not scale with it (it is rounding noise), or is 0. Decided by
 * that probe, never by a gradient's size: a real gradient of 1e-9 is not noise. The probe's passes
 * run the ops' own rules, notify nobody and leave `graph.ruleCounts` as they were.
 */
export function zeroInTruth(graph: Graph, loss: Node, seed?: Tensor): Set<Node> {
  const counts = { ...graph.ruleCounts };
  try {
    const s = seed ?? Tensor.full(loss.shape, 1, graph.dtype);
    const auto = graph.backward(loss, { overrides: false, notify: false, seed: s });
    const nodes = auto.nodes();
    const noise = roundingNoise(graph, loss, s, auto, nodes);
    return new Set(nodes.filter((n) => {
      const scale = largest(auto.get(n)!);
      return n !== loss && (scale === 0 || (noise.get(n) ?? 0) > NOISE_FRACTION * scale);
    }));
  } finally {
    Object.assign(graph.ruleCounts, counts);
  }
}

/**
 * The hand-written rules among those that send `row`'s node its gradient: each is run again on
 * its node's automatic upstream gradient beside the automatic rule, and those that differ by more
 * than the row's tolerance are blamed (all of them when none does alone).
 */
function culprits(graph: Graph, row: ComparisonRow, auto: Gradients): Blame[] {
  const suspects: { blame: Blame; differs: boolean }[] = [];
  for (let id = graph.nodes.length - 1; id > row.node.id; id--) {
    const c = graph.nodes[id], g = auto.get(c), rules = c.override;
    if (!rules || !g) continue;
    c.op!.inputs.forEach((input, j) => {
      const rule = rules[input];
      if (c.inputs[j] !== row.node || !rule) return;
      const inputs: Record<string, Tensor> = {};
      c.op!.inputs.forEach((name, k) => inputs[name] = c.inputs[k].value);
      const args = { g, out: c.value, inputs, saved: c.saved, attrs: c.attrs };
      let differs = true;
      try {
        const mine = rule(args), reference = automaticRule(c, input)(args);
        differs = !(mine instanceof Tensor) || !sameShape(mine.shape, reference.shape) ||
          !(diff(mine, reference, 0, 0).maxdiff <= row.tolerance);
      } catch {
        // A rule that throws here is as suspect as one that differs.
      }
      suspects.push({ blame: blameOf(c, input), differs });
    });
  }
  const differing = suspects.filter((s) => s.differs);
  return (differing.length > 0 ? differing : suspects).map((s) => s.blame);
}

function blameOf(node: Node, input: string): Blame {
  return { node, name: node.name, text: nodeText(node), input };
}

function diff(m: Tensor, a: Tensor, rtol: number, atol: number) {
  let exact = true, allclose = true, maxdiff = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = m.data[i], y = a.data[i];
    const d = Math.abs(x - y);
    if (x !== y) exact = false;
    if (!(d <= atol + rtol * Math.abs(y))) allclose = false;
    if (d > maxdiff || d !== d) maxdiff = d;
  }
  return { exact, allclose, maxdiff };
}

function largest(t: Tensor): number {
  let m = 0;
  for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.data[i]));
  return m;
}

/** How a row is named in tables: `h1`, or `add#4 (x @ W1 + b1)` for an unlabelled node. */
export function rowTitle(r: { name: string; text: string }): string {
  return r.text === r.name ? r.name : `${r.name} (${r.text})`;
}

/**
 * The comparison as the lecture prints it, one line per node, with the relative error and a
 * shape column: `logprobs | exact: True  | approximate: True  | maxdiff: 0 | rel 0 | shape: ok`.
 */
export function formatComparison(cmp: Comparison): string {
  const titles = cmp.rows.map(rowTitle);
  const width = Math.max(...titles.map((t) => t.length), 4);
  const bool = (b: boolean) => (b ? "True " : "False");
  const lines = cmp.rows.map((r, i) => {
    const shape = r.shapeMatch
      ? `ok ${formatShape(r.shape)}`
      : `got ${formatShape(r.shapeGot)}, want ${formatShape(r.shape)}`;
    return `${titles[i].padEnd(width)} | exact: ${bool(r.exact)} | approximate: ${
      bool(r.approximate)
    } | maxdiff: ${formatDiff(r.maxdiff).padEnd(8)} | rel ${
      formatDiff(r.relerr).padEnd(8)
    } | shape: ${shape}${r.zeroInTruth ? " | zero in truth" : ""}${
      r.probe
        ? ` | on a random upstream gradient, ${rowTitle(r.probe.blame)}'s rule is ${
          formatDiff(r.probe.maxdiff)
        } off`
        : ""
    }`;
  });
  lines.push(
    cmp.judged === "allclose"
      ? `(approximate: allclose with rtol ${formatTolerance(cmp.rtol!)}, atol ${
        formatTolerance(cmp.atol!)
      })`
      : `(approximate: within ${ROUNDING_FACTOR} times the rounding of the automatic gradient; ` +
        "rel: maxdiff over its largest entry)",
  );
  const first = cmp.firstDivergent;
  if (!first) lines.push("every node agrees");
  else {
    lines.push(
      `first divergent node in backward order: ${rowTitle(first)}${
        first.error ? ` (${first.error})` : ""
      }`,
    );
    if (cmp.blame.length > 0) {
      lines.push(
        `its gradient comes from the hand-written rule of ${
          cmp.blame.map((b) => `${rowTitle(b)} for input ${b.input}`).join(", ")
        }: check that rule first`,
      );
    }
  }
  return lines.join("\n");
}

function formatDiff(d: number): string {
  return d === 0 ? "0" : Number.isNaN(d) ? "n/a" : d === Infinity ? "inf" : d.toExponential(2);
}

/** 1e-5 rather than 0.00001: tolerances read as the lecture writes them. */
export function formatTolerance(x: number): string {
  return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential().replace(/\.0+e/, "e") : String(x);
}
