/**
 * The learner's starting file for exercise 1: every rule blank (it throws "not written yet"), the
 * forward pass in comments with each node's shape, imports by absolute file URL so the file works
 * from any directory.
 * @module
 */
import { formatShape } from "../../ops/kernels/tensor.ts";
import { buildEx1, EX1_SIZES, type Ex1Sizes, zeroEx1Inputs } from "../model/ex1.ts";
import { contributionName, EX1_LINE_NAMES, EX1_LINES } from "../model/lines.ts";

/** The file name `ninja init` writes. */
export const LEARNER_FILE = "backprop.ts";

/** The text of a blank learner file, importing from the repository at `repo` (a file URL). */
export function learnerTemplate(
  repo: URL = new URL("../../", import.meta.url),
  sizes: Ex1Sizes = EX1_SIZES,
): string {
  const { graph } = buildEx1(zeroEx1Inputs(sizes).params, ...zeroBatch(sizes));
  const shape = (label: string) => formatShape(graph.node(label).shape);
  const forward = [...EX1_LINE_NAMES].reverse().map((line) => {
    const text = EX1_LINES[line].forward;
    return `//   ${text.padEnd(48)} ${shape(line)}`;
  });
  const rules = EX1_LINE_NAMES.map((line) => {
    const { forward: text, inputs } = EX1_LINES[line];
    const shapes = inputs.map((x) => `${x} ${shape(x)}`).join(", ");
    return [
      `  // ${text}`,
      `  //   ${line} ${shape(line)} ← ${shapes}`,
      `  ${line}: {`,
      ...inputs.map((x) =>
        `    ${x}: () => notWritten(${JSON.stringify(contributionName(line, x))}),`
      ),
      "  },",
    ].join("\n");
  });
  return `${HEADER}
// deno-lint-ignore-file no-unused-vars -- the blank rules leave the imports unused until you write them
import { kernels as t, Tensor } from "${new URL("mod.ts", repo).href}";
import { type Ex1Rules, notWritten } from "${new URL("exercises/ninja/api.ts", repo).href}";

// The forward pass (n = ${sizes.batch} examples, ${sizes.vocab} symbols, block_size ${sizes.blockSize}, n_embd ${sizes.nEmbd}, n_hidden ${sizes.nHidden}):
${forward.join("\n")}

/** The backward pass, line by line from the loss back to C: one rule per input of each line. */
export const rules: Ex1Rules = {
${rules.join("\n")}
};
`;
}

const HEADER = `/**
 * Exercise 1 of "becoming a backprop ninja": backpropagate through the whole net by hand, one
 * line of the forward pass at a time. Check your rules with
 *
 *     deno task ninja check path/to/backprop.ts
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
 * Kernels (\`t.\`), each returning a new tensor: add, sub, mul, div (broadcasting, numbers allowed),
 * neg, exp, log, tanh, pow(x, p), oneMinusSquare(x) (1 − x²), sum(x, { axis, keepdim }),
 * max(x, { axis, keepdim }, indices: Int32Array), matmul(a, b, { transA, transB }),
 * expand(g, shape, axis, scale = 1), oneHot(idx, classes, undefined, like), unpick(g, idx, shape).
 * Tensors: x.shape, x.data (row-major), x.dtype, x.reshape(shape), Tensor.zeros(shape, dtype).
 */`;

function zeroBatch(sizes: Ex1Sizes) {
  const { Xb, Yb } = zeroEx1Inputs(sizes);
  return [Xb, Yb] as const;
}
