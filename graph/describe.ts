/**
 * A readable name for a node that has no label: the expression it computes, written the lecture's
 * way from its inputs (`x @ W1 + b1`, `tanh(hpreact)`, `hprebn.sum(0)`), as the charts draw it.
 * Tables and verdicts key rows by `node.name` (`add#4`), which is unique; this is what they show
 * beside it.
 */
import type { Node } from "./node.ts";

/** Expressions longer than this fall back to the op and position (`add#4`). */
const MAX_LENGTH = 24;

const INFIX: Readonly<Record<string, string>> = { add: "+", sub: "−", mul: "·", div: "/" };
const CALLS = new Set(["tanh", "exp", "log", "neg", "relu", "sigmoid", "sqrt", "abs"]);

/**
 * The node's label; for an unlabelled op the expression it computes from labelled inputs (up to
 * two unlabelled steps deep); else its op and position (`tanh#12`).
 */
export function nodeText(node: Node): string {
  return node.label ?? expression(node, 2) ?? node.name;
}

/** How tightly an op's infix form binds: an inner step that binds less gets parentheses. */
const PRECEDENCE: Readonly<Record<string, number>> = { add: 1, sub: 1, mul: 2, div: 2, matmul: 2 };

/** The expression of an unlabelled op, or undefined when it has no short form. */
function expression(n: Node, depth: number): string | undefined {
  if (!n.op) return undefined;
  const outer = PRECEDENCE[n.op.name] ?? 3;
  const operand = (x: Node): string | undefined => {
    if (x.label !== undefined) return x.label;
    if (x.kind === "constant" && x.value.size === 1) return short(x.value.data[0]);
    if (depth <= 0 || !x.op) return undefined;
    const inner = expression(x, depth - 1);
    if (inner === undefined) return undefined;
    const binds = PRECEDENCE[x.op.name] ?? 3;
    return binds > outer || !inner.includes(" ") ? inner : `(${inner})`;
  };
  const names = n.inputs.map(operand);
  if (names.some((s) => s === undefined)) return undefined;
  const [a, b] = names as string[];
  const attrs = (n.attrs ?? {}) as Record<string, unknown>;
  const op = n.op.name;
  let text: string | undefined;
  if (op === "matmul" && names.length === 2) {
    text = `${a}${attrs.transA ? "ᵀ" : ""} @ ${b}${attrs.transB ? "ᵀ" : ""}`;
  } else if (INFIX[op] && names.length === 2) text = `${a} ${INFIX[op]} ${b}`;
  else if ((op === "sum" || op === "mean" || op === "max") && names.length === 1) {
    text = attrs.axis === undefined || attrs.axis === null
      ? `${a}.${op}()`
      : `${a}.${op}(${attrs.axis})`;
  } else if (op === "pick" && names.length === 2) text = `${a}[·, ${b}]`;
  else if (op === "pow" && names.length === 1 && typeof attrs.p === "number") {
    text = `${a}**${attrs.p}`;
  } else if (CALLS.has(op) && names.length === 1) {
    text = `${op}(${a.startsWith("(") && a.endsWith(")") ? a.slice(1, -1) : a})`;
  }
  return text !== undefined && text.length <= MAX_LENGTH ? text : undefined;
}

/** A constant as a short number: 0.5, 1e-5, 0.03125. */
function short(x: number): string {
  if (Number.isInteger(x) || x === 0) return String(x);
  const s = String(Number(x.toPrecision(4)));
  return s.length <= 8 ? s : x.toExponential(2);
}
