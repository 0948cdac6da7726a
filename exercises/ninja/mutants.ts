/**
 * The learners' commonest mistakes as formulas: for each rule (`line.input`), a catalogue of
 * plausible wrong versions of the reference formula ("mutants"), each computed from the same
 * forward values and upstream gradient the learner's rule received. A wrong result that equals one
 * mutant, and no other, up to float rounding, is that mistake, and the hint names it; a result
 * that equals none gets no specific hint (`hints.ts` then says what it can prove: a sign, a
 * factor, where the entries differ). The catalogue never guesses: it names a mistake only by
 * recomputing it.
 * @module
 */
import * as t from "../../ops/kernels/mod.ts";
import { type FloatDType, type Shape, Tensor } from "../../ops/kernels/tensor.ts";
import type { Hint, MistakeKind } from "./hints.ts";

/** What a rule receives: forward values by lecture name, `g`, `d<line>`, `n`. */
export type Values = Readonly<Record<string, Tensor | number>>;

/** A named wrong formula for one rule. */
export interface Mutant {
  /** Stable name of the mistake, for tests, charts and JSON: `divide-by-classes`. */
  id: string;
  kind: MistakeKind;
  /**
   * What is wrong, after the gradient's name ("divides by 27 (the classes) where …"), or, for a
   * mutant marked `part`, a clause of its own ("the part through the mean is missing").
   */
  says: (v: Values) => string;
  /** `says` names a part of the formula: the hint reads "in dhprebn, <says>". */
  part?: true;
  /** The wrong formula, from the same values as the reference rule. */
  compute: (v: Values) => Tensor;
}

const tensor = (v: Values, name: string) => v[name] as Tensor;
const batch = (v: Values) => v.n as number;
const keep = (axis: number) => ({ axis, keepdim: true });
const drop = (axis: number) => ({ axis, keepdim: false });
const tTimes = { transA: true, transB: false };
const timesT = { transA: false, transB: true };

// --- cross-entropy: dlogits = (softmax(logits) − onehot(Yb)) / n · dloss ------------------------

function onehot(v: Values, idx: Tensor): Tensor {
  return onehotOf(idx, tensor(v, "probs"));
}

/** Rows of `like`'s shape with a 1 at each row's index. */
function onehotOf(idx: Tensor, like: Tensor): Tensor {
  return t.oneHot(idx, like.shape[1], undefined, like);
}

/** Each row's argmax of the logits, as an index tensor. */
function argmaxRows(logits: Tensor): Tensor {
  const idx = new Int32Array(logits.shape[0]);
  t.max(logits, keep(1), idx);
  return new Tensor(idx, [logits.shape[0]]);
}

/** `(p − onehot(at)) · dloss / divisor`, the cross-entropy formula with its parts swappable. */
function ce(
  v: Values,
  p: Tensor,
  at: Tensor | number,
  divisor: number,
  dloss = true,
  times: Tensor | number = 1,
): Tensor {
  const scale = dloss
    ? t.div(tensor(v, "dloss"), divisor)
    : typeof times === "number"
    ? times / divisor
    : t.div(times, divisor);
  return t.mul(t.sub(p, at), scale);
}

const classes = (v: Values) => tensor(v, "probs").shape[1];
const target = (v: Values) => onehot(v, tensor(v, "Yb"));

const CROSS_ENTROPY: Mutant[] = [
  {
    id: "divide-by-classes",
    kind: "factor",
    says: (v) =>
      `divides by ${classes(v)} (the classes, logits.shape[1]) where the formula divides by ` +
      `n = ${batch(v)} (the batch, logits.shape[0]): the loss is a mean over the n rows`,
    compute: (v) => ce(v, tensor(v, "probs"), target(v), classes(v)),
  },
  {
    id: "no-divide-by-n",
    kind: "factor",
    says: (v) =>
      `is not divided by n = ${batch(v)}: the loss is a mean over the n rows, so each row's ` +
      "gradient carries 1/n",
    compute: (v) => ce(v, tensor(v, "probs"), target(v), 1),
  },
  {
    id: "divide-only-minus-one",
    kind: "operand",
    says: () =>
      "divides only the −1 by n (softmax − onehot / n): the whole of it is divided, " +
      "(softmax − onehot) / n",
    compute: (v) =>
      t.mul(t.sub(tensor(v, "probs"), t.div(target(v), batch(v))), tensor(v, "dloss")),
  },
  {
    id: "divide-only-softmax",
    kind: "operand",
    says: () =>
      "divides only the softmax by n (softmax / n − onehot): the whole of it is divided, " +
      "(softmax − onehot) / n",
    compute: (v) =>
      t.mul(t.sub(t.div(tensor(v, "probs"), batch(v)), target(v)), tensor(v, "dloss")),
  },
  {
    id: "dprobs-for-dlogits",
    kind: "operand",
    says: () =>
      "is dprobs, −1/(n·probs) at each row's target, not dlogits: carry it on through the " +
      "softmax to the logits, which gives (softmax − onehot) / n",
    compute: (v) =>
      t.mul(t.div(t.neg(target(v)), t.mul(tensor(v, "probs"), batch(v))), tensor(v, "dloss")),
  },
  {
    id: "loss-for-dloss",
    kind: "operand",
    says: () =>
      "multiplies by the loss where the chain rule has its gradient dloss: " +
      "(softmax − onehot) / n · dloss",
    compute: (v) => ce(v, tensor(v, "probs"), target(v), batch(v), false, tensor(v, "loss")),
  },
  {
    id: "no-dloss",
    kind: "chain rule",
    says: () => "is not multiplied by dloss (the chain rule): (softmax − onehot) / n · dloss",
    compute: (v) => ce(v, tensor(v, "probs"), target(v), batch(v), false),
  },
  {
    id: "minus-one-at-argmax",
    kind: "operand",
    says: () =>
      "puts the −1 at each row's largest logit (its argmax) where the formula puts it at the " +
      "row's target: dlogits[range(n), Yb] -= 1",
    compute: (v) => ce(v, tensor(v, "probs"), onehot(v, argmaxRows(tensor(v, "logits"))), batch(v)),
  },
  {
    id: "exp-not-normalised",
    kind: "operand",
    says: () =>
      "has exp(logits) where the formula has softmax(logits) = exp(logits) / " +
      "exp(logits).sum(1, keepdim=True): divide each row by its sum",
    compute: (v) => ce(v, t.exp(tensor(v, "logits")), target(v), batch(v)),
  },
  {
    id: "exp-shifted-not-normalised",
    kind: "operand",
    says: () =>
      "has exp(logits − logit_maxes) (the counts) where the formula has softmax(logits): divide " +
      "each row by its sum",
    compute: (v) => {
      const logits = tensor(v, "logits");
      return ce(
        v,
        t.exp(t.sub(logits, t.max(logits, keep(1), new Int32Array(logits.shape[0])))),
        target(v),
        batch(v),
      );
    },
  },
  {
    id: "softmax-axis-0",
    kind: "axis",
    says: (v) =>
      `takes the softmax over axis 0 (down each column, across the ${batch(v)} rows) where it ` +
      `runs over axis 1 (along each row, across the ${classes(v)} classes)`,
    compute: (v) => ce(v, t.softmax(tensor(v, "logits"), 0, false), target(v), batch(v)),
  },
  {
    id: "log-softmax",
    kind: "operand",
    says: () =>
      "has log(softmax(logits)) (the logprobs) where the formula has softmax(logits) itself",
    compute: (v) => ce(v, t.softmax(tensor(v, "logits"), 1, true), target(v), batch(v)),
  },
  {
    id: "no-minus-one",
    kind: "terms",
    part: true,
    says: () => "the −1 at each row's target (dlogits[range(n), Yb] -= 1) is missing",
    compute: (v) => ce(v, tensor(v, "probs"), 0, batch(v)),
  },
  {
    id: "minus-one-everywhere",
    kind: "operand",
    says: () =>
      "subtracts 1 from every entry where only each row's target entry (column Yb) gets the −1",
    compute: (v) => ce(v, tensor(v, "probs"), 1, batch(v)),
  },
  {
    id: "plus-one-at-target",
    kind: "sign",
    says: () => "adds 1 at each row's target where the formula subtracts it",
    compute: (v) => ce(v, tensor(v, "probs"), t.neg(target(v)), batch(v)),
  },
  {
    id: "no-softmax",
    kind: "terms",
    says: () => "has only the −1 at each row's target: the softmax(logits) part is missing",
    compute: (v) => ce(v, t.mul(tensor(v, "probs"), 0), target(v), batch(v)),
  },
];

// --- batchnorm: dhprebn = bngain*bnvar_inv/n * (n*g - g.sum(0) - n/(n-1)*bnraw*(g*bnraw).sum(0)) -

/** One change to the batchnorm formula; unset parts are the reference's. */
interface BnChange {
  gain?: "none";
  scale?: "std" | "bnvar" | "none";
  /** Whether the whole is divided by n. */
  overN?: false;
  direct?: "no n" | "none";
  mean?: "no sum" | "axis 1" | "none" | "plus";
  variance?: "no sum" | "axis 1" | "none" | "plus" | "n" | "inverted" | "over n-1";
  outer?: "bndiff";
  inner?: "bndiff";
}

function bn(v: Values, c: BnChange): Tensor {
  const g = tensor(v, "dhpreact"), n = batch(v);
  const bnraw = tensor(v, "bnraw"), bndiff = tensor(v, "bndiff");
  const reduce = (x: Tensor, how: string | undefined) =>
    how === "no sum" ? x : t.sum(x, keep(how === "axis 1" ? 1 : 0));
  const scale = c.scale === "none"
    ? 1
    : c.scale === "std"
    ? t.pow(t.add(tensor(v, "bnvar"), 1e-5), 0.5)
    : c.scale === "bnvar"
    ? tensor(v, "bnvar")
    : tensor(v, "bnvar_inv");
  const gain = c.gain === "none" ? 1 : tensor(v, "bngain");
  let inner: Tensor = c.direct === "none" ? t.mul(g, 0) : c.direct === "no n" ? g : t.mul(n, g);
  if (c.mean !== "none") {
    const m = reduce(g, c.mean);
    inner = c.mean === "plus" ? t.add(inner, m) : t.sub(inner, m);
  }
  if (c.variance !== "none") {
    const bessel = c.variance === "n"
      ? 1
      : c.variance === "inverted"
      ? (n - 1) / n
      : c.variance === "over n-1"
      ? 1 / (n - 1)
      : n / (n - 1);
    const outer = c.outer === "bndiff" ? bndiff : bnraw;
    const within = c.inner === "bndiff" ? bndiff : bnraw;
    const part = t.mul(bessel, t.mul(outer, reduce(t.mul(g, within), c.variance)));
    inner = c.variance === "plus" ? t.add(inner, part) : t.sub(inner, part);
  }
  const k = t.mul(gain, scale);
  return t.mul(c.overN === false ? k : t.div(k, n), inner);
}

const MEAN_PART = "the part through the mean (- dhpreact.sum(0))";
const VARIANCE_PART = "the part through the variance (- n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))";

const bnMutant = (id: string, kind: MistakeKind, says: string, change: BnChange): Mutant => ({
  id,
  kind,
  says: () => says,
  compute: (v) => bn(v, change),
  // "bngain is missing", "the part through the mean …": a clause of its own.
  ...(/^(the |bngain )/.test(says) ? { part: true as const } : {}),
});

const BATCHNORM: Mutant[] = [
  bnMutant(
    "no-bngain",
    "terms",
    "bngain is missing: hpreact = bngain * bnraw + bnbias, so every part carries the factor bngain",
    { gain: "none" },
  ),
  bnMutant(
    "std-for-inverse",
    "operand",
    "has the standard deviation (bnvar + 1e-5)**0.5 where the formula has its inverse " +
      "bnvar_inv = (bnvar + 1e-5)**-0.5",
    { scale: "std" },
  ),
  bnMutant(
    "bnvar-for-inverse",
    "operand",
    "has bnvar where the formula has bnvar_inv = (bnvar + 1e-5)**-0.5",
    { scale: "bnvar" },
  ),
  bnMutant(
    "no-bnvar-inv",
    "terms",
    "the factor bnvar_inv is missing in front: bngain*bnvar_inv/n * (…)",
    { scale: "none" },
  ),
  bnMutant(
    "no-divide-by-n",
    "factor",
    "is not divided by n in front: bngain*bnvar_inv/n * (…)",
    { overN: false },
  ),
  bnMutant(
    "direct-without-n",
    "terms",
    "the direct part has dhpreact where the formula has n*dhpreact",
    { direct: "no n" },
  ),
  bnMutant("no-direct", "terms", "the direct part (n*dhpreact) is missing", { direct: "none" }),
  bnMutant(
    "mean-without-sum",
    "terms",
    `${MEAN_PART} has dhpreact where it needs dhpreact.sum(0): the missing .sum(0) (each ` +
      "column's mean is shared by all n rows, so its gradient sums over them)",
    { mean: "no sum" },
  ),
  bnMutant(
    "mean-axis-1",
    "axis",
    `${MEAN_PART} sums over axis 1 (along each row) where it needs axis 0 (over the batch)`,
    { mean: "axis 1" },
  ),
  bnMutant("no-mean", "terms", `${MEAN_PART} is missing`, { mean: "none" }),
  bnMutant("mean-sign", "sign", `${MEAN_PART} has the wrong sign`, { mean: "plus" }),
  bnMutant(
    "variance-without-sum",
    "terms",
    `${VARIANCE_PART} has bnraw*(dhpreact*bnraw) where it needs ` +
      "bnraw*(dhpreact*bnraw).sum(0): the missing .sum(0)",
    { variance: "no sum" },
  ),
  bnMutant(
    "variance-axis-1",
    "axis",
    `${VARIANCE_PART} sums over axis 1 (along each row) where it needs axis 0 (over the batch)`,
    { variance: "axis 1" },
  ),
  bnMutant("no-variance", "terms", `${VARIANCE_PART} is missing`, { variance: "none" }),
  bnMutant("variance-sign", "sign", `${VARIANCE_PART} has the wrong sign`, { variance: "plus" }),
  bnMutant(
    "variance-without-bessel",
    "factor",
    `${VARIANCE_PART} lacks its n/(n-1): bnvar divides by n − 1 (Bessel's correction), not n`,
    { variance: "n" },
  ),
  bnMutant(
    "variance-bessel-inverted",
    "factor",
    `${VARIANCE_PART} has (n-1)/n where the formula has n/(n-1)`,
    { variance: "inverted" },
  ),
  bnMutant(
    "variance-over-n-1",
    "factor",
    `${VARIANCE_PART} has 1/(n-1) where the formula has n/(n-1)`,
    { variance: "over n-1" },
  ),
  bnMutant(
    "both-axis-1",
    "axis",
    "sums over axis 1 (along each row) where the formula sums over axis 0 (over the batch, " +
      ".sum(0)), in the parts through the mean and the variance",
    { mean: "axis 1", variance: "axis 1" },
  ),
  bnMutant(
    "bndiff-for-bnraw",
    "operand",
    `has bndiff where the formula has bnraw (= bndiff * bnvar_inv) in ${VARIANCE_PART}`,
    { outer: "bndiff", inner: "bndiff" },
  ),
  // bndiff*(g*bnraw).sum(0) and bnraw*(g*bndiff).sum(0) are equal (bnvar_inv is one number per
  // column), so bndiff in either place is one mistake: a factor bnvar_inv lost.
  bnMutant(
    "bndiff-for-bnraw-once",
    "operand",
    `has bndiff where the formula has bnraw (= bndiff * bnvar_inv) in one of the two places of ` +
      `${VARIANCE_PART}: a factor bnvar_inv is lost`,
    { outer: "bndiff" },
  ),
];

// --- the other rules of exercises 1 and 4 ----------------------------------------------------

/** A value used in place of another: `dW1 = embcat.T @ hprebn` for `embcat.T @ dhprebn`. */
const insteadOf = (
  id: string,
  used: string,
  wanted: string,
  formula: string,
  compute: (v: Values) => Tensor,
): Mutant => ({
  id,
  kind: "operand",
  says: () => `uses ${used} where the formula has ${wanted}: ${formula}`,
  compute,
});

const forwardForGradient = (x: string) => `the forward value ${x}`;

/** A sum over the wrong axis of a value broadcast along the other one. */
const wrongAxis = (
  id: string,
  input: string,
  axis: number,
  formula: string,
  compute: (v: Values) => Tensor,
): Mutant => ({
  id,
  kind: "axis",
  says: (v) =>
    `sums over axis ${axis} where ${input} ${`(${
      tensor(v, input).shape.join(", ")
    })`} was broadcast along axis ${1 - axis}: ${formula}`,
  compute,
});

const MEAN_NOT_SUM = (id: string, grad: string, formula: string): Mutant => ({
  id,
  kind: "factor",
  says: () => `is a mean over the batch where the formula sums: ${formula}`,
  compute: (v) => t.div(t.sum(tensor(v, grad), drop(0)), batch(v)),
});

/**
 * dC = 0; for k, j: dC[Xb[at(k, j)]] += demb row(k, j): the embedding's backward with the row
 * read and the index of Xb swappable (both flat, counted in rows of n_embd and entries of Xb).
 */
function scatter(
  v: Values,
  row: (k: number, j: number) => number,
  assign = false,
  at = (k: number, j: number) => k * blockOf(v) + j,
): Tensor {
  const C = tensor(v, "C"), Xb = tensor(v, "Xb"), demb = tensor(v, "demb");
  const dC = Tensor.zeros(C.shape, C.dtype), w = C.shape[1];
  const [n, block] = Xb.shape;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < block; j++) {
      const to = Xb.data[at(k, j)] * w, from = row(k, j) * w;
      for (let d = 0; d < w; d++) {
        if (assign) dC.data[to + d] = demb.data[from + d];
        else dC.data[to + d] += demb.data[from + d];
      }
    }
  }
  return dC;
}

const blockOf = (v: Values) => tensor(v, "Xb").shape[1];

const EMBEDDING: Mutant[] = [
  {
    id: "assign-not-add",
    kind: "overwrite",
    says: () =>
      "keeps only the last of the rows that a repeated letter receives: a letter appears many " +
      "times in Xb, and each demb[k, j] must be added into dC[Xb[k, j]] (+=), not assigned (=)",
    compute: (v) => scatter(v, (k, j) => k * blockOf(v) + j, true),
  },
  {
    id: "block-position-forgotten",
    kind: "operand",
    says: () =>
      "indexes demb by the example k alone (demb.data[k * n_embd + d]), leaving out the block " +
      "position j: dC[Xb[k, j]] takes demb[k, j], at demb.data[(k * block_size + j) * n_embd + d]",
    compute: (v) => scatter(v, (k) => k),
  },
  {
    id: "first-position-only",
    kind: "operand",
    says: () =>
      "adds demb[k, 0] at every block position j where the formula adds demb[k, j] " +
      "(each of the block_size letters of a context has its own embedding gradient)",
    compute: (v) => scatter(v, (k) => k * blockOf(v)),
  },
  {
    id: "forward-for-gradient",
    kind: "operand",
    says: () =>
      "adds the forward value emb where the formula adds its gradient demb: " +
      "dC[Xb[k, j]] takes demb[k, j]",
    compute: (v) => scatter({ ...v, demb: tensor(v, "emb") }, (k, j) => k * blockOf(v) + j),
  },
  {
    id: "first-letter-only",
    kind: "operand",
    says: () =>
      "adds every demb[k, j] into the row of the context's first letter, dC[Xb[k, 0]], where " +
      "each goes to its own letter's row: dC[Xb[k, j]] takes demb[k, j]",
    compute: (v) => scatter(v, (k, j) => k * blockOf(v) + j, false, (k) => k * blockOf(v)),
  },
];

const LINEAR: Record<string, Mutant[]> = {
  "logits.W2": [
    insteadOf(
      "forward-for-gradient",
      forwardForGradient("logits"),
      "its gradient dlogits",
      "dW2 = h.T @ dlogits",
      (v) => t.matmul(tensor(v, "h"), tensor(v, "logits"), tTimes),
    ),
    insteadOf(
      "hpreact-for-h",
      "hpreact (tanh's input)",
      "h (the layer's input, tanh's output)",
      "dW2 = h.T @ dlogits",
      (v) => t.matmul(tensor(v, "hpreact"), tensor(v, "dlogits"), tTimes),
    ),
  ],
  "logits.h": [
    insteadOf(
      "forward-for-gradient",
      forwardForGradient("logits"),
      "its gradient dlogits",
      "dh = dlogits @ W2.T",
      (v) => t.matmul(tensor(v, "logits"), tensor(v, "W2"), timesT),
    ),
  ],
  // Not dlogits.sum(1): each row of dlogits sums to zero, so that sum is rounding noise, which no
  // catalogue can match.
  "logits.b2": [
    insteadOf(
      "forward-for-gradient",
      forwardForGradient("logits"),
      "its gradient dlogits",
      "db2 = dlogits.sum(0)",
      (v) => t.sum(tensor(v, "logits"), drop(0)),
    ),
    MEAN_NOT_SUM("mean-not-sum", "dlogits", "db2 = dlogits.sum(0)"),
  ],
  "hprebn.W1": [
    insteadOf(
      "forward-for-gradient",
      forwardForGradient("hprebn"),
      "its gradient dhprebn",
      "dW1 = embcat.T @ dhprebn",
      (v) => t.matmul(tensor(v, "embcat"), tensor(v, "hprebn"), tTimes),
    ),
  ],
  "hprebn.embcat": [
    insteadOf(
      "forward-for-gradient",
      forwardForGradient("hprebn"),
      "its gradient dhprebn",
      "dembcat = dhprebn @ W1.T",
      (v) => t.matmul(tensor(v, "hprebn"), tensor(v, "W1"), timesT),
    ),
  ],
  "hprebn.b1": [
    wrongAxis(
      "axis-1",
      "b1",
      1,
      "db1 = dhprebn.sum(0)",
      (v) => t.sum(tensor(v, "dhprebn"), drop(1)),
    ),
    insteadOf(
      "forward-for-gradient",
      forwardForGradient("hprebn"),
      "its gradient dhprebn",
      "db1 = dhprebn.sum(0)",
      (v) => t.sum(tensor(v, "hprebn"), drop(0)),
    ),
  ],
  "h.hpreact": [
    insteadOf(
      "hpreact-for-h",
      "1 − hpreact²",
      "1 − h² (tanh' written with h = tanh(hpreact), the line's output)",
      "dhpreact = (1.0 - h**2) * dh",
      (v) => t.mul(t.sub(1, t.mul(tensor(v, "hpreact"), tensor(v, "hpreact"))), tensor(v, "dh")),
    ),
    {
      id: "tanh-of-h",
      kind: "operand",
      says: () => "takes tanh of h, which already is tanh(hpreact): dhpreact = (1.0 - h**2) * dh",
      compute: (v) => t.mul(t.sub(1, t.pow(t.tanh(tensor(v, "h")), 2)), tensor(v, "dh")),
    },
    {
      id: "no-square",
      kind: "operand",
      says: () => "has 1 − h where tanh' is 1 − h²: dhpreact = (1.0 - h**2) * dh",
      compute: (v) => t.mul(t.sub(1, tensor(v, "h")), tensor(v, "dh")),
    },
  ],
  "hpreact.bngain": [
    wrongAxis(
      "axis-1",
      "bngain",
      1,
      "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
      (v) => t.sum(t.mul(tensor(v, "bnraw"), tensor(v, "dhpreact")), keep(1)),
    ),
    insteadOf(
      "bndiff-for-bnraw",
      "bndiff",
      "bnraw (= bndiff * bnvar_inv, what bngain multiplies in hpreact = bngain * bnraw + bnbias)",
      "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
      (v) => t.sum(t.mul(tensor(v, "bndiff"), tensor(v, "dhpreact")), keep(0)),
    ),
    insteadOf(
      "hprebn-for-bnraw",
      "hprebn",
      "bnraw (what bngain multiplies in hpreact = bngain * bnraw + bnbias)",
      "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
      (v) => t.sum(t.mul(tensor(v, "hprebn"), tensor(v, "dhpreact")), keep(0)),
    ),
    insteadOf(
      "hpreact-for-bnraw",
      "hpreact (the line's output)",
      "bnraw (what bngain multiplies in hpreact = bngain * bnraw + bnbias)",
      "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
      (v) => t.sum(t.mul(tensor(v, "hpreact"), tensor(v, "dhpreact")), keep(0)),
    ),
  ],
  "hpreact.bnbias": [
    wrongAxis(
      "axis-1",
      "bnbias",
      1,
      "dbnbias = dhpreact.sum(0, keepdim=True)",
      (v) => t.sum(tensor(v, "dhpreact"), keep(1)),
    ),
    MEAN_NOT_SUM("mean-not-sum", "dhpreact", "dbnbias = dhpreact.sum(0)"),
  ],
  "bnvar.bndiff2": [{
    id: "bessel-forgotten",
    kind: "factor",
    says: () =>
      "divides by n where bnvar divides by n − 1 (Bessel's correction): dbndiff2 = " +
      "1/(n-1) * dbnvar, broadcast over the rows",
    compute: (v) => t.expand(t.div(tensor(v, "dbnvar"), batch(v)), tensor(v, "bndiff2").shape, 0),
  }],
  "logit_maxes.logits": [{
    id: "target-for-argmax",
    kind: "operand",
    says: () =>
      "routes dlogit_maxes to each row's target Yb where the max sends it to the row's argmax " +
      "(the entry that was the max)",
    compute: (v) => t.mul(onehot(v, tensor(v, "Yb")), tensor(v, "dlogit_maxes")),
  }],
};

/** Exercise 1's rules, line by line: the slips the lecture's learners make most. */
const EX1: Record<string, Mutant[]> = {
  "loss.logprobs": [
    {
      id: "divide-by-classes",
      kind: "factor",
      says: (v) =>
        `divides by ${tensor(v, "logprobs").shape[1]} (the classes) where the loss is a mean ` +
        `over n = ${batch(v)} rows: each picked entry gets −1/n · dloss`,
      compute: (v) => {
        const lp = tensor(v, "logprobs");
        return t.mul(onehotOf(tensor(v, "Yb"), lp), t.div(t.neg(tensor(v, "dloss")), lp.shape[1]));
      },
    },
    {
      id: "every-entry",
      kind: "operand",
      says: () =>
        "puts −1/n at every entry where only each row's target (logprobs[range(n), Yb]) was " +
        "picked: the other entries get 0",
      compute: (v) =>
        t.add(t.mul(tensor(v, "logprobs"), 0), t.div(t.neg(tensor(v, "dloss")), batch(v))),
    },
  ],
  "logprobs.probs": [{
    id: "times-not-over",
    kind: "operand",
    says: () =>
      "multiplies by probs where the derivative of log is 1/probs: dprobs = (1.0 / probs) * dlogprobs",
    compute: (v) => t.mul(tensor(v, "probs"), tensor(v, "dlogprobs")),
  }],
  "probs.counts": [{
    id: "own-factor",
    kind: "operand",
    says: () =>
      "multiplies by counts, the input itself, where the formula has the other factor: " +
      "dcounts = counts_sum_inv * dprobs",
    compute: (v) => t.mul(tensor(v, "counts"), tensor(v, "dprobs")),
  }],
  "probs.counts_sum_inv": [
    wrongAxis(
      "axis-0",
      "counts_sum_inv",
      0,
      "(counts * dprobs).sum(1, keepdim=True)",
      (v) => t.sum(t.mul(tensor(v, "counts"), tensor(v, "dprobs")), keep(0)),
    ),
    {
      id: "own-factor",
      kind: "operand",
      says: () =>
        "multiplies by counts_sum_inv, the input itself, where the formula has the other factor: " +
        "(counts * dprobs).sum(1, keepdim=True)",
      compute: (v) => t.sum(t.mul(tensor(v, "counts_sum_inv"), tensor(v, "dprobs")), keep(1)),
    },
  ],
  "counts_sum_inv.counts_sum": [{
    id: "power-not-lowered",
    kind: "operand",
    says: () =>
      "has −counts_sum**-1 where the derivative of x**-1 is −x**-2: " +
      "dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv",
    compute: (v) => t.mul(t.neg(t.pow(tensor(v, "counts_sum"), -1)), tensor(v, "dcounts_sum_inv")),
  }],
  "counts.norm_logits": [{
    id: "input-for-output",
    kind: "operand",
    says: () =>
      "multiplies by norm_logits where exp' = exp, the line's output: " +
      "dnorm_logits = counts * dcounts",
    compute: (v) => t.mul(tensor(v, "norm_logits"), tensor(v, "dcounts")),
  }],
  "norm_logits.logit_maxes": [wrongAxis(
    "axis-0",
    "logit_maxes",
    0,
    "(-dnorm_logits).sum(1, keepdim=True)",
    (v) => t.sum(t.neg(tensor(v, "dnorm_logits")), keep(0)),
  )],
  "hpreact.bnraw": [{
    id: "no-bngain",
    kind: "terms",
    says: () => "is dhpreact alone: bngain is missing (dbnraw = bngain * dhpreact)",
    compute: (v) => tensor(v, "dhpreact"),
  }],
  "bnraw.bnvar_inv": [wrongAxis(
    "axis-1",
    "bnvar_inv",
    1,
    "(bndiff * dbnraw).sum(0, keepdim=True)",
    (v) => t.sum(t.mul(tensor(v, "bndiff"), tensor(v, "dbnraw")), keep(1)),
  )],
  "bnvar_inv.bnvar": [{
    id: "power-not-lowered",
    kind: "operand",
    says: () =>
      "has (bnvar + 1e-5)**-0.5 where the derivative of x**-0.5 is −0.5·x**-1.5: " +
      "dbnvar = (-0.5 * (bnvar + 1e-5)**-1.5) * dbnvar_inv",
    compute: (v) =>
      t.mul(t.mul(-0.5, t.pow(t.add(tensor(v, "bnvar"), 1e-5), -0.5)), tensor(v, "dbnvar_inv")),
  }],
  "bndiff2.bndiff": [{
    id: "no-bndiff",
    kind: "terms",
    says: () => "has 2 where the power rule gives 2 * bndiff: (2 * bndiff) * dbndiff2",
    compute: (v) => t.mul(2, tensor(v, "dbndiff2")),
  }],
  "bndiff.bnmeani": [wrongAxis(
    "axis-1",
    "bnmeani",
    1,
    "(-dbndiff).sum(0, keepdim=True)",
    (v) => t.sum(t.neg(tensor(v, "dbndiff")), keep(1)),
  )],
  "bnmeani.hprebn": [{
    id: "divide-by-n-1",
    kind: "factor",
    says: () =>
      "divides by n − 1 where bnmeani divides by n (the mean; only bnvar has n − 1): " +
      "1/n * dbnmeani, spread down each column",
    compute: (v) =>
      t.expand(t.div(tensor(v, "dbnmeani"), batch(v) - 1), tensor(v, "hprebn").shape, 0),
  }],
};

/** The catalogue, by rule (`line.input`); exercise 4 shares the keys of exercises 1–3. */
export const MUTANTS: Readonly<Record<string, readonly Mutant[]>> = {
  "loss.logits": CROSS_ENTROPY,
  "hpreact.hprebn": BATCHNORM,
  "emb.C": EMBEDDING,
  ...LINEAR,
  ...EX1,
};

/** The unit roundoff of each dtype. */
const EPS: Record<FloatDType, number> = { float32: 2 ** -24, float64: 2 ** -53 };

/**
 * How far a learner's result may be from a mutant and still be that mutant: 2^11 roundings of
 * the largest value involved, room for the few dozen operations of a one-step formula done in
 * another order (sums of n = 32 rows, a matmul's inner products) with a margin of ×10 or more.
 * A mutant is used only if it differs from the reference by 10× this much.
 */
export function mutantTolerance(dtype: FloatDType): number {
  return 2 ** 11 * EPS[dtype];
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

const squeezed = (s: Shape) => s.filter((d) => d !== 1);

/** Largest |a − b| over the larger of the two's largest entry (Infinity when shapes differ). */
function distance(a: Tensor, b: Tensor): number {
  const sa = squeezed(a.shape), sb = squeezed(b.shape);
  if (a.size !== b.size || sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    return Infinity;
  }
  const scale = Math.max(maxAbs(a.data), maxAbs(b.data));
  if (scale === 0) return 0;
  let d = 0;
  for (let i = 0; i < a.size; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
  return Number.isNaN(d) ? Infinity : d / scale;
}

/** The mutants of every rule: the reference summed over an axis it must keep (any rule). */
function summedMutants(reference: Tensor, n: number): Mutant[] {
  return reference.shape.flatMap((size, axis) =>
    size === 1 || reference.shape.length < 2 ? [] : [{
      id: `summed-axis-${axis}`,
      kind: "summed" as const,
      says: () =>
        `is the right gradient summed over axis ${axis}${
          axis === 0 && size === n ? ` (the batch of n = ${n} rows)` : ""
        }: the input has that axis, so its gradient keeps it; leave out the sum`,
      compute: () => t.sum(reference, drop(axis)),
    }]
  );
}

/** What a rule's mistake is judged with. */
export interface MutantContext {
  /** The rule, `line.input` (`loss.logits`). */
  key: string;
  /** The gradient's name (`dlogits`). */
  what: string;
  dtype: FloatDType;
  n: number;
}

/**
 * The catalogue's mistake that `mine` is, or undefined when it is none of them or more than one.
 * `values` are what the rule received; `reference` the reference rule's result on them.
 */
export function mutantHint(
  mine: Tensor,
  reference: Tensor,
  values: Values,
  ctx: MutantContext,
): Hint | undefined {
  const tol = mutantTolerance(ctx.dtype);
  const found: Mutant[] = [];
  for (const m of [...(MUTANTS[ctx.key] ?? []), ...summedMutants(reference, ctx.n)]) {
    let wrong: Tensor;
    try {
      wrong = m.compute(values);
    } catch {
      continue; // a value this exercise's rule does not receive
    }
    if (distance(wrong, reference) <= 10 * tol) continue; // no different here: cannot tell
    if (distance(mine, wrong) <= tol) found.push(m);
  }
  if (found.length !== 1) return undefined;
  const [m] = found;
  const text = m.part ? `in ${ctx.what}, ${m.says(values)}` : `${ctx.what} ${m.says(values)}`;
  return { kind: m.kind, mutant: m.id, text };
}
