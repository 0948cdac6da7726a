/**
 * What a wrong gradient says about the mistake behind it. `ninja check` has, for every rule, the
 * learner's result and the reference rule's result on the same inputs; these functions compare
 * the two and name the mistake: a flipped sign, a constant factor (×2, ×n, n against n − 1), a
 * forgotten upstream gradient, a transpose, a term of a one-step formula missing or off, or a
 * matmul whose shapes a transpose would fix.
 * @module
 */
import { shapeAdvice, type ShapeMistake } from "../../graph/rules.ts";
import { sumTo } from "../../ops/kernels/broadcast.ts";
import { formatShape, type Shape, Tensor } from "../../ops/kernels/tensor.ts";

/** The kinds of mistake a hint can name (plain data for charts and JSON). */
export type MistakeKind =
  | "sign"
  | "factor"
  | "zeros"
  | "chain rule"
  | "terms"
  | "transpose"
  | "broadcast"
  | "keepdim"
  | "reshape"
  | "matmul"
  | "operand"
  | "axis"
  | "summed"
  | "overwrite"
  | "entries"
  | "wrote into input"
  | "threw"
  | "not a tensor"
  | "dtype"
  | "not finite"
  | "zero in truth"
  | "not linear"
  | "state";

/** A named mistake and the sentence that says it. */
export interface Hint {
  kind: MistakeKind;
  text: string;
  /** The catalogue's name for the mistake (`mutants.ts`), when the hint comes from it. */
  mutant?: string;
}

/** A part of a formula: `dhprebn`'s term through the mean, say. */
export interface Term {
  /** How the lecture writes it. */
  name: string;
  value: Tensor;
}

/** What a value hint may use besides the two results. */
export interface HintContext {
  /** The batch size. */
  n: number;
  /** The gradient's name (`dprobs`). */
  what: string;
  /** The upstream gradient and its name, for "the local derivative alone". */
  upstream?: { name: string; value: Tensor };
  /** The reference's terms, for formulas with several (`dlogits`, `dhprebn`). */
  terms?: Term[];
}

/** Matching is loose: a mistake's pattern only has to stand out from float32 rounding. */
const LOOSE = 1e-3;

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Whether `a ≈ c · b` everywhere, relative to the larger of the two. */
function scaledClose(a: ArrayLike<number>, b: ArrayLike<number>, c: number): boolean {
  const scale = Math.max(maxAbs(a), Math.abs(c) * maxAbs(b));
  if (scale === 0) return true;
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i] - c * b[i]) > LOOSE * scale) return false;
  }
  return true;
}

/** The constant factors that the lecture's learners slip into, by name. */
function namedFactors(n: number): [number, string][] {
  return [
    [2, "×2"],
    [1 / 2, "×1/2"],
    [n, `×n (n = ${n}): a 1/n too few`],
    [1 / n, `×1/n (n = ${n}): a 1/n too many`],
    [(n - 1) / n, `×(n − 1)/n (n = ${n})`],
    [n / (n - 1), `×n/(n − 1) (n = ${n})`],
    [n - 1, `×(n − 1): a 1/(n − 1) too few`],
    [1 / (n - 1), `×1/(n − 1): a 1/(n − 1) too many`],
    [n * n, `×n² (n = ${n})`],
    [1 / (n * n), `×1/n² (n = ${n})`],
  ];
}

/** The factor `c` in words: `×2`, `×1/n (n = 32): …`, `×−3.1`. */
export function factorName(c: number, n: number): string {
  const sign = c < 0 ? "the sign flipped and " : "";
  const size = Math.abs(c);
  const named = namedFactors(n).find(([f]) => Math.abs(size - f) <= LOOSE * f);
  return sign + (named ? named[1] : `×${size.toPrecision(3)}`);
}

/** The least-squares coefficient c of `mine ≈ c · want`. */
function bestFactor(mine: ArrayLike<number>, want: ArrayLike<number>): number {
  let dot = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    dot += mine[i] * want[i];
    norm += want[i] * want[i];
  }
  return norm === 0 ? NaN : dot / norm;
}

/**
 * The mistake behind a gradient that has the right shape but wrong values, or undefined when no
 * pattern fits (then the caller says where and by how much it differs).
 */
export function valueHint(mine: Tensor, want: Tensor, ctx: HintContext): Hint | undefined {
  const a = mine.data, b = want.data;
  if (maxAbs(a) === 0 && maxAbs(b) > 0) {
    return { kind: "zeros", text: `${ctx.what} is all zeros` };
  }
  if (scaledClose(a, b, -1)) {
    return { kind: "sign", text: `${ctx.what} is −1 × the right gradient: a sign is flipped` };
  }
  const c = bestFactor(a, b);
  if (Number.isFinite(c) && Math.abs(c - 1) > LOOSE && c !== 0 && scaledClose(a, b, c)) {
    return {
      kind: "factor",
      text: `${ctx.what} is the right gradient ${factorName(c, ctx.n)}`,
    };
  }
  const up = ctx.upstream;
  if (up && up.value.size === mine.size && up.value.shape.length === mine.shape.length) {
    // Times the upstream gradient it becomes right: the local derivative alone.
    const times = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) times[i] = a[i] * up.value.data[i];
    if (scaledClose(times, b, 1)) {
      return {
        kind: "chain rule",
        text: `${ctx.what} is the local derivative alone: multiply it by ${up.name} ` +
          "(the chain rule)",
      };
    }
  }
  if (mine.shape.length === 2 && mine.shape[0] === mine.shape[1] && mine.shape[0] > 1) {
    if (scaledClose(transposed(mine).data, b, 1)) {
      return {
        kind: "transpose",
        text: `${ctx.what} is the right gradient transposed: swap the matmul's operands or ` +
          "its transposes (dA = dOut @ Bᵀ, dB = Aᵀ @ dOut)",
      };
    }
  }
  if (ctx.terms) {
    const hint = termsHint(a, ctx.terms, ctx);
    if (hint) return hint;
  }
  return undefined;
}

/**
 * What a gradient of the wrong shape needs, said only as far as it is true: "reshape it" or "sum
 * over axis 0" when, reshaped or summed, it is the engine's gradient (`right` judges that);
 * otherwise the shape's fix and that the values differ too.
 */
export function shapeHint(
  mine: Tensor,
  want: Shape,
  right: (fixed: Tensor) => boolean,
): { kind: ShapeMistake; text: string } {
  const advice = shapeAdvice(mine.shape, want);
  const to = formatShape(want);
  if (!advice) {
    return { kind: "reshape", text: `a gradient has exactly its input's shape, ${to}` };
  }
  let fixed: Tensor | undefined;
  if (advice.kind === "broadcast") fixed = sumTo(mine, want);
  else if (advice.kind === "transpose") fixed = transposed(mine);
  else fixed = new Tensor(mine.data, [...want]);
  if (right(fixed)) return advice;
  const how = advice.kind === "broadcast"
    ? "summed so"
    : advice.kind === "transpose"
    ? "transposed"
    : `reshaped to ${to}`;
  const shape = advice.kind === "transpose"
    ? `its shape is the transpose of ${to} (a matmul's gradient has the shape of its operand: ` +
      "dA = dOut @ Bᵀ, dB = Aᵀ @ dOut)"
    : advice.text;
  return { kind: advice.kind, text: `${shape}; ${how}, its values still differ from the engine's` };
}

/** Where the entries differ: `dC is wrong at 170 of 270 entries, the first at [0, 0]`. */
export function entriesHint(
  mine: Tensor,
  want: Tensor,
  what: string,
  atol: number,
  rtol: number,
): Hint {
  let wrong = 0, first = -1;
  for (let i = 0; i < want.size; i++) {
    const d = Math.abs(mine.data[i] - want.data[i]);
    if (!(d <= atol + rtol * Math.abs(want.data[i]))) {
      wrong++;
      if (first < 0) first = i;
    }
  }
  return {
    kind: "entries",
    text: `${what} is wrong at ${wrong} of ${want.size} entries, the first at [${
      indexOf(first, want.shape).join(", ")
    }]`,
  };
}

function indexOf(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    index[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return index;
}

/** A 2-D tensor transposed, as float64. */
export function transposed(x: Tensor): Tensor {
  const [r, c] = x.shape;
  const out = Tensor.zeros([c, r], "float64");
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[j * r + i] = x.data[i * c + j];
  return out;
}

/**
 * `mine` as a combination of the reference's terms (least squares): when it is one, the terms
 * whose coefficient is not 1 are what is wrong, each named with how (missing, sign, factor).
 */
function termsHint(mine: ArrayLike<number>, terms: Term[], ctx: HintContext): Hint | undefined {
  const k = terms.length, t = terms.map((x) => x.value.data);
  if (t.some((x) => x.length !== mine.length)) return undefined;
  const gram = Array.from({ length: k }, (_, i) => t.map((tj) => dot(t[i], tj)));
  const rhs = t.map((ti) => dot(ti, mine));
  const coef = solve(gram, rhs);
  if (!coef) return undefined;
  const fit = new Float64Array(mine.length);
  for (let i = 0; i < k; i++) for (let j = 0; j < fit.length; j++) fit[j] += coef[i] * t[i][j];
  if (!scaledClose(mine, fit, 1)) return undefined;
  const off = terms.map((term, i) => ({ term, c: coef[i] }))
    .filter(({ c }) => Math.abs(c - 1) > 10 * LOOSE);
  if (off.length === 0 || off.length === k) return undefined;
  // Only a term missing (×0) or negated (×−1) is named: another coefficient is one way to write
  // a result that a different mistake made (a missing .sum(0) fits as the direct part ×(n−1)/n).
  const near = (c: number, x: number) => Math.abs(c - x) < 10 * LOOSE;
  if (!off.every(({ c }) => near(c, 0) || near(c, -1))) return undefined;
  const says = off.map(({ term, c }) =>
    near(c, 0) ? `${term.name} is missing` : `${term.name} has the wrong sign`
  );
  return { kind: "terms", text: `in ${ctx.what}, ${says.join("; ")}` };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Gaussian elimination with partial pivoting; undefined when the system is singular. */
function solve(m: number[][], rhs: number[]): number[] | undefined {
  const k = rhs.length, a = m.map((row, i) => [...row, rhs[i]]);
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (Math.abs(a[pivot][col]) < 1e-300) return undefined;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let c = col; c <= k; c++) a[r][c] -= f * a[col][c];
    }
  }
  return a.map((row, i) => row[k] / row[i]);
}

/** The matmul error's operands: `(32, 64) @ (30, 64)ᵀ`. */
const MATMUL_ERROR = /matmul: inner dimensions differ: \(([\d, ]+)\)(ᵀ?) @ \(([\d, ]+)\)(ᵀ?)/;

/**
 * For a rule that threw "matmul: inner dimensions differ", the transpose (or swap) that gives
 * the gradient its input's shape, naming the operand by the forward values of that shape.
 */
export function matmulHint(
  message: string,
  want: Shape,
  values: Readonly<Record<string, unknown>>,
  upstream?: string,
): Hint | undefined {
  const m = MATMUL_ERROR.exec(message);
  if (!m) return undefined;
  const parse = (s: string) => s.split(",").map((x) => Number(x.trim())).filter((x) => x > 0);
  const A = parse(m[1]), B = parse(m[3]);
  const ta = m[2] === "ᵀ", tb = m[4] === "ᵀ";
  const name = (shape: number[]) => namesOfShape(shape, values, upstream);
  const fits = (x: number[], tx: boolean, y: number[], ty: boolean) => {
    const [r, kx] = tx ? [x[1], x[0]] : [x[0], x[1]];
    const [ky, c] = ty ? [y[1], y[0]] : [y[0], y[1]];
    return kx === ky && r === want[0] && c === want[1];
  };
  const candidates: [number[], boolean, number[], boolean, string][] = [
    [A, ta, B, !tb, `transpose the second operand, ${name(B)}`],
    [A, !ta, B, tb, `transpose the first operand, ${name(A)}`],
    [A, !ta, B, !tb, "transpose both operands"],
    [B, tb, A, ta, "swap the operands"],
    [B, !tb, A, ta, `swap the operands and transpose ${name(B)}`],
    [B, tb, A, !ta, `swap the operands and transpose ${name(A)}`],
    [B, !tb, A, !ta, "swap the operands and transpose both"],
  ];
  const found = candidates.find(([x, tx, y, ty]) => fits(x, tx, y, ty));
  if (!found) return undefined;
  const [x, tx, y, ty, say] = found;
  const written = (s: number[], t: boolean) => `${name(s)}${t ? "ᵀ" : ""}`;
  return {
    kind: "matmul",
    text: `${say}: ${written(x, tx)} @ ${written(y, ty)} has the gradient's shape ` +
      `${formatShape(want)} (t.matmul(a, b, { transA: ${tx}, transB: ${ty} }))`,
  };
}

/**
 * The values of exactly this shape, by name (`W1`, or `h or hpreact`); the upstream gradient
 * (`dhprebn`) alone when it has that shape, since a rule's matmul nearly always takes it.
 */
function namesOfShape(
  shape: number[],
  values: Readonly<Record<string, unknown>>,
  upstream?: string,
): string {
  const fits = (v: unknown) => v instanceof Tensor && sameDims(v.shape, shape);
  if (upstream !== undefined && fits(values[upstream])) return upstream;
  const names = Object.entries(values).filter(([k, v]) => k !== "g" && fits(v)).map(([k]) => k);
  return names.length > 0 ? names.slice(0, 3).join(" or ") : formatShape(shape);
}

function sameDims(a: Shape, b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
