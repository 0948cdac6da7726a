/**
 * The learner's starting file for each exercise: every rule blank (it throws "not written yet"),
 * the forward pass in comments with each node's shape, the values the rules receive, imports by
 * absolute file URL so the file works from any directory.
 * @module
 */
import { Graph } from "../../graph/graph.ts";
import type { Node } from "../../graph/node.ts";
import { formatShape, type Shape, type Tensor } from "../../ops/kernels/tensor.ts";
import { buildEx1, EX1_SIZES, type Ex1Fuse, zeroEx1Inputs } from "../model/ex1.ts";
import { buildEx4, EX4_SIZES, type Ex4Weights, PARAM_NAMES, paramShapes } from "../model/ex4.ts";
import { EX1_LINE_NAMES, EX1_LINES, type LineTable, partName } from "../model/lines.ts";
import { type ExerciseNumber, EXERCISES, type ExerciseSpec, ruleCount } from "./exercises.ts";
import { VALUE_NOTES } from "./lines.ts";

/** The batch of the templates' shapes: the lecture's. */
const BATCH = EX1_SIZES.batch;

/** The text of a blank learner file for exercise `n`, importing from the repository at `repo`. */
export function learnerTemplate(
  n: ExerciseNumber = 1,
  repo: URL = new URL("../../", import.meta.url),
): string {
  const spec = EXERCISES[n];
  const shapes = shapesOf(n);
  const shape = (label: string) => formatShape(shapes[label]);
  const rules = Object.entries(spec.lines).map(([line, { forward, inputs }]) => {
    const from = inputs.map((x) => `${x} ${shape(x)}`).join(", ");
    return [
      `  // ${forward}`,
      `  //   ${line} ${shape(line)} ← ${from}`,
      `  ${line}: {`,
      ...inputs.map((x) =>
        `    ${x}: () => notWritten(${JSON.stringify(partName(spec.lines, line, x))}),`
      ),
      "  },",
    ].join("\n");
  });
  const sizes = n === 4
    ? `n = ${BATCH} examples, ${EX4_SIZES.vocab} symbols, block_size ${EX4_SIZES.block}, ` +
      `n_embd ${EX4_SIZES.embd}, n_hidden ${EX4_SIZES.hidden}`
    : `n = ${BATCH} examples, ${EX1_SIZES.vocab} symbols, block_size ${EX1_SIZES.blockSize}, ` +
      `n_embd ${EX1_SIZES.nEmbd}, n_hidden ${EX1_SIZES.nHidden}`;
  return `${HEADERS[n](spec)}
// deno-lint-ignore-file no-unused-vars -- the blank rules leave the imports unused until you write them
import { kernels as t, Tensor } from "${new URL("mod.ts", repo).href}";
import { type ${spec.rulesType}, notWritten } from "${
    new URL("exercises/ninja/api.ts", repo).href
  }";

/** Which exercise this file is (ninja check reads it). */
export const exercise = ${n};

// The forward pass (${sizes}):
${forwardLines(n, shape).join("\n")}
${
    n === 1
      ? ""
      : `\n// What every rule receives besides g and d<line> (its upstream gradient):\n${
        valueLines(spec, shape).join("\n")
      }\n`
  }
/** ${RULES_DOC[n]} */
export const rules: ${spec.rulesType} = {
${rules.join("\n")}
};
`;
}

/** The forward pass as comments, first line first, each with its value's shape. */
function forwardLines(n: ExerciseNumber, shape: (label: string) => string): string[] {
  const lines: [string, string][] = n === 1
    ? [...EX1_LINE_NAMES].reverse().map((l) => [EX1_LINES[l].forward, l])
    : n === 2
    ? [[EX1_LINES.logits.forward, "logits"], [EXERCISES[2].lines.loss.forward, "loss"]]
    : n === 3
    ? [[EX1_LINES.hprebn.forward, "hprebn"], [EXERCISES[3].lines.hpreact.forward, "hpreact"]]
    : Object.entries(EXERCISES[4].lines).reverse().map(([l, { forward }]) => [forward, l]);
  const width = Math.max(...lines.map(([text]) => text.length), 48);
  return lines.map(([text, label]) => `//   ${text.padEnd(width)} ${shape(label)}`);
}

/** The values the rules receive, with shapes and what each one is. */
function valueLines(spec: ExerciseSpec, shape: (label: string) => string): string[] {
  const names = [
    ...spec.forward.nodes,
    ...Object.values(spec.forward.saved ?? {}).flat(),
  ];
  const width = Math.max(...names.map((x) => x.length));
  const lineOf = (x: string) => (EX1_LINES as LineTable)[x]?.forward;
  return [
    ...names.map((x) =>
      `//   ${x.padEnd(width)} ${shape(x).padEnd(12)} ${
        VALUE_NOTES[x] ?? PARAM_NOTES[x] ?? lineOf(x) ?? ""
      }`.trimEnd()
    ),
    `//   ${"n".padEnd(width)} ${String(BATCH).padEnd(12)} the batch size`,
  ];
}

const PARAM_NOTES: Readonly<Record<string, string>> = {
  C: "the embedding table",
  W1: "the first layer's weights",
  b1: "the first layer's bias",
  W2: "the second layer's weights",
  b2: "the second layer's bias",
  bngain: "batchnorm's gain",
  bnbias: "batchnorm's bias",
  Xb: "the minibatch's contexts (int32 symbol indices)",
  Yb: "the minibatch's targets (int32 symbol indices)",
  loss: "the loss",
};

/** Every node's and saved value's shape in exercise `n`'s net, from a net of zeros. */
function shapesOf(n: ExerciseNumber): Record<string, Shape> {
  const shapes: Record<string, Shape> = {};
  const take = (nodes: readonly Node[]) => {
    for (const node of nodes) {
      if (node.label !== undefined) shapes[node.label] = node.shape;
      if (node.op?.kind === "composite") {
        for (const [k, v] of Object.entries(node.saved as Record<string, Tensor>)) {
          shapes[k] ??= v.shape;
        }
      }
    }
  };
  if (n === 4) {
    const weights = {} as Ex4Weights, s = paramShapes(EX4_SIZES);
    for (const name of PARAM_NAMES) {
      weights[name] = new Float32Array(s[name].reduce((a, b) => a * b, 1));
    }
    take(buildEx4(new Graph(), weights, EX4_SIZES, BATCH).graph.nodes);
  } else {
    const fuse: Ex1Fuse = n === 2 ? "crossEntropy" : n === 3 ? "batchNorm" : "none";
    const { params, Xb, Yb } = zeroEx1Inputs(EX1_SIZES);
    take(buildEx1(params, Xb, Yb, { fuse }).graph.nodes);
  }
  return shapes;
}

const KERNELS =
  ` * Kernels (\`t.\`), each returning a new tensor: add, sub, mul, div (broadcasting, numbers allowed),
 * neg, exp, log, tanh, pow(x, p), oneMinusSquare(x) (1 − x²), sum(x, { axis, keepdim }),
 * max(x, { axis, keepdim }, indices: Int32Array), matmul(a, b, { transA, transB }),
 * expand(g, shape, axis, scale = 1), oneHot(idx, classes, undefined, like), unpick(g, idx, shape),
 * softmax(x, axis, false). Tensors: x.shape, x.data (row-major), x.dtype, x.reshape(shape),
 * x.clone(), Tensor.zeros(shape, dtype). The values a rule receives are the forward pass's own:
 * read them, never write into them (clone first).`;

const RULES_DOC: Record<ExerciseNumber, string> = {
  1: "The backward pass, line by line from the loss back to C: one rule per input of each line.",
  2: "dlogits in one step.",
  3: "dhprebn in one step.",
  4: "The training step's backward pass, layer by layer from the loss back to C.",
};

const HEADERS: Record<ExerciseNumber, (spec: ExerciseSpec) => string> = {
  1: (spec) =>
    `/**
 * Exercise 1 of "becoming a backprop ninja": backpropagate through the whole net by hand, one
 * line of the forward pass at a time: ${
      ruleCount(spec)
    } rules for the ${spec.rows.length} gradients of the cmp table.
 * Check your rules with
 *
 *     deno task ninja check path/to/${spec.file}
 *
 * \`rules.<line>.<input>\` is the rule that sends the line's gradient back to one input. It receives
 * an object with the line's upstream gradient as \`d<line>\` (also named \`g\`) and every forward
 * value by its lecture name (\`counts\`, \`bnraw\`, \`W1\`, \`Xb\`, \`Yb\`, and \`n\`, the batch size), and
 * returns that input's gradient: a tensor of exactly the input's shape. For the line \`y = a * b\`:
 *
 *     y: { a: ({ dy, b }) => t.mul(b, dy), b: ({ dy, a }) => t.mul(a, dy) },
 *
 * A value used by two lines (counts, logits, bndiff, hprebn) has a rule in each; each returns only
 * its own part and the engine adds them up: the lecture's \`+=\`. A value broadcast in the forward
 * pass has its gradient summed over the broadcast axes.
 *
${KERNELS}
 */`,
  2: (spec) =>
    `/**
 * Exercise 2 of "becoming a backprop ninja": backpropagate through cross-entropy in one step.
 * Exercise 1 went through logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs and
 * logprobs a line at a time; here the loss is one node, and you write dlogits at once: take the
 * derivative of the loss with respect to the logits, simplify, and write it out. Check with
 *
 *     deno task ninja check path/to/${spec.file}
 *
 * The rule receives \`dloss\` (also \`g\`, a scalar tensor) and the forward values listed below, and
 * returns dlogits, a tensor of the logits' shape. In float32 yours agrees with the engine's
 * approximately (the lecture sees a maxdiff of about 5e-9), not bit for bit.
 *
${KERNELS}
 */`,
  3: (spec) =>
    `/**
 * Exercise 3 of "becoming a backprop ninja": backpropagate through batchnorm in one step. Look
 * at the mathematical expression of batchnorm's output, take its derivative with respect to its
 * input hprebn (every row's mean and variance depend on every row), simplify, and write it out.
 * Check with
 *
 *     deno task ninja check path/to/${spec.file}
 *
 * The rule receives \`dhpreact\` (also \`g\`) and the forward values listed below, and returns
 * dhprebn, a tensor of hprebn's shape. In float32 yours agrees with the engine's approximately
 * (the lecture sees a maxdiff of about 1e-9), not bit for bit.
 *
${KERNELS}
 */`,
  4: (spec) =>
    `/**
 * Exercise 4 of "becoming a backprop ninja": the whole backward pass of the training step, each
 * layer in one step: cross-entropy (exercise 2), the second linear layer, tanh, batchnorm (its
 * dhprebn is exercise 3, its dbngain and dbnbias as in exercise 1), the first linear layer, the
 * view and the embedding: ${
      ruleCount(spec)
    } rules for the ${spec.rows.length} gradients. Check with
 *
 *     deno task ninja check path/to/${spec.file}
 *
 * and once every gradient is ok, train the lecture's net with your rules only (no automatic rule
 * runs at all; the counters at the end say so):
 *
 *     deno task ninja train path/to/${spec.file} --rng torch
 *
 * \`rules.<line>.<input>\` receives the line's upstream gradient as \`d<line>\` (also \`g\`) and every
 * forward value listed below, and returns that input's gradient, of exactly the input's shape.
 *
${KERNELS}
 */`,
};
