/**
 * Exercises 2–4 line by line, as exercise 1 is in `exercises/model/lines.ts`: each line of the
 * forward pass, the inputs whose rules the learner writes, the forward values those rules receive
 * (typed and documented by the lecture's names), and the type of the rule table a learner's file
 * exports.
 *
 * Exercises 2 and 3 run on exercise 1's net with the loss (2) or the batchnorm (3) fused into one
 * node; exercise 4 on the training net (n_hidden 200), where every line is one fused node. The
 * composite nodes keep their subgraph's values, so the rules get `probs`, `bnraw` or `bnvar_inv`
 * as the lecture's notebook has them at hand.
 * @module
 */
import type { Tensor } from "../../ops/kernels/tensor.ts";
import type { ForwardSpec } from "../model/lines.ts";

/** Exercise 2: the loss is one node; its one rule is the closed-form dlogits. */
export const EX2_LINES = {
  loss: { forward: "loss = F.cross_entropy(logits, Yb)", inputs: ["logits"] },
} as const;

/** Exercise 3: batchnorm is one node; the learner writes its closed-form dhprebn. */
export const EX3_LINES = {
  hpreact: {
    forward: "hpreact = bngain * (hprebn - bnmeani) * bnvar_inv + bnbias",
    inputs: ["hprebn"],
  },
} as const;

/** Exercise 4: the whole training step's backward, one fused node per line. */
export const EX4_LINES = {
  loss: { forward: "loss = F.cross_entropy(logits, Yb)", inputs: ["logits"] },
  logits: { forward: "logits = h @ W2 + b2", inputs: ["h", "W2", "b2"] },
  h: { forward: "h = torch.tanh(hpreact)", inputs: ["hpreact"] },
  hpreact: {
    forward: "hpreact = bngain * (hprebn - bnmeani) * bnvar_inv + bnbias",
    inputs: ["hprebn", "bngain", "bnbias"],
  },
  hprebn: { forward: "hprebn = embcat @ W1 + b1", inputs: ["embcat", "W1", "b1"] },
  embcat: { forward: "embcat = emb.view(emb.shape[0], -1)", inputs: ["emb"] },
  emb: { forward: "emb = C[Xb]", inputs: ["C"] },
} as const;

/** What the cross-entropy's forward pass computed (exercises 2 and 4). */
export interface CrossEntropyValues {
  /** `logits = h @ W2 + b2`, (n, vocab): the loss's input. */
  readonly logits: Tensor;
  /** The minibatch's targets, (n,), int32: row i's correct next letter. */
  readonly Yb: Tensor;
  /** `probs = softmax(logits, 1)`, (n, vocab), as the forward pass computed it (read only). */
  readonly probs: Tensor;
  /** The loss, a scalar `()`. */
  readonly loss: Tensor;
  /** The batch size (32). */
  readonly n: number;
}

/** What the batchnorm's forward pass computed (exercises 3 and 4), by the lecture's names. */
export interface BatchNormValues {
  /** `hprebn = embcat @ W1 + b1`, (n, n_hidden): batchnorm's input. */
  readonly hprebn: Tensor;
  /** The gain, (1, n_hidden). */
  readonly bngain: Tensor;
  /** The bias, (1, n_hidden). */
  readonly bnbias: Tensor;
  /** `bnmeani = 1/n * hprebn.sum(0, keepdim=True)`, (1, n_hidden): the batch mean. */
  readonly bnmeani: Tensor;
  /** `bndiff = hprebn - bnmeani`, (n, n_hidden). */
  readonly bndiff: Tensor;
  /**
   * `bnvar = 1/(n-1) * (bndiff**2).sum(0, keepdim=True)`, (1, n_hidden): the batch variance
   * with Bessel's correction (n − 1).
   */
  readonly bnvar: Tensor;
  /** `bnvar_inv = (bnvar + 1e-5)**-0.5`, (1, n_hidden). */
  readonly bnvar_inv: Tensor;
  /** `bnraw = bndiff * bnvar_inv`, (n, n_hidden): hprebn normalised per column. */
  readonly bnraw: Tensor;
  /** `hpreact = bngain * bnraw + bnbias`, (n, n_hidden): batchnorm's output. */
  readonly hpreact: Tensor;
  /** The batch size (32). */
  readonly n: number;
}

/** Every value of the training step's forward pass (exercise 4), by the lecture's names. */
export interface Ex4Values extends CrossEntropyValues, BatchNormValues {
  /** The embedding table, (vocab, n_embd). */
  readonly C: Tensor;
  /** The first layer's weights, (block_size · n_embd, n_hidden). */
  readonly W1: Tensor;
  /** The first layer's bias, (n_hidden,). */
  readonly b1: Tensor;
  /** The second layer's weights, (n_hidden, vocab). */
  readonly W2: Tensor;
  /** The second layer's bias, (vocab,). */
  readonly b2: Tensor;
  /** The minibatch's contexts, (n, block_size), int32 symbol indices. */
  readonly Xb: Tensor;
  /** `emb = C[Xb]`, (n, block_size, n_embd). */
  readonly emb: Tensor;
  /** `embcat = emb.view(emb.shape[0], -1)`, (n, block_size · n_embd). */
  readonly embcat: Tensor;
  /** `h = torch.tanh(hpreact)`, (n, n_hidden). */
  readonly h: Tensor;
}

/** A rule of line `L`: the forward values, `g` and `d<L>` (both the upstream gradient). */
export type LineRuleContext<V, L extends string> =
  & V
  & { readonly g: Tensor }
  & { readonly [K in L as `d${K}`]: Tensor };

/** What exercise 2's rule receives: `dloss` (= `g`) and the cross-entropy's values. */
export type Ex2RuleContext = LineRuleContext<CrossEntropyValues, "loss">;
/** What exercise 3's rule receives: `dhpreact` (= `g`) and the batchnorm's values. */
export type Ex3RuleContext = LineRuleContext<BatchNormValues, "hpreact">;
/** What the rules of exercise 4's line `L` receive: `d<L>` (= `g`) and every forward value. */
export type Ex4RuleContext<L extends Ex4Line> = LineRuleContext<Ex4Values, L>;

/** Exercise 2's rule table: `loss.logits` returns dlogits. */
export type Ex2Rules = {
  readonly loss: { readonly logits: (ctx: Ex2RuleContext) => Tensor };
};

/** Exercise 3's rule table: `hpreact.hprebn` returns dhprebn. */
export type Ex3Rules = {
  readonly hpreact: { readonly hprebn: (ctx: Ex3RuleContext) => Tensor };
};

/** A line of exercise 4, named for the value it computes. */
export type Ex4Line = keyof typeof EX4_LINES;

/** Exercise 4's rule table: a rule per line and input, the training step's whole backward. */
export type Ex4Rules = {
  readonly [L in Ex4Line]: {
    readonly [X in (typeof EX4_LINES)[L]["inputs"][number]]: (ctx: Ex4RuleContext<L>) => Tensor;
  };
};

/** What the cross-entropy line saves for its rules. */
const CE_SAVED = ["probs"] as const;
/** What the batchnorm line saves for its rules. */
const BN_SAVED = ["bnmeani", "bndiff", "bnvar", "bnvar_inv", "bnraw"] as const;

/** The values behind {@link Ex2RuleContext}, as the installer reads them off the graph. */
export const EX2_FORWARD: ForwardSpec = {
  nodes: ["logits", "Yb", "loss"],
  saved: { loss: CE_SAVED },
};

/** The values behind {@link Ex3RuleContext}. */
export const EX3_FORWARD: ForwardSpec = {
  nodes: ["hprebn", "bngain", "bnbias", "hpreact"],
  saved: { hpreact: BN_SAVED },
};

/** The values behind {@link Ex4RuleContext}. */
export const EX4_FORWARD: ForwardSpec = {
  nodes: [
    ...["C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb"],
    ...["emb", "embcat", "hprebn", "hpreact", "h", "logits", "loss"],
  ],
  saved: { loss: CE_SAVED, hpreact: BN_SAVED },
};

/** A line of the forward values' documentation, for the templates: name, definition. */
export const VALUE_NOTES: Readonly<Record<string, string>> = {
  probs: "softmax(logits, 1), as the forward pass computed it",
  bnmeani: "1/n * hprebn.sum(0, keepdim=True)",
  bndiff: "hprebn - bnmeani",
  bnvar: "1/(n-1) * (bndiff**2).sum(0, keepdim=True)   (Bessel's correction)",
  bnvar_inv: "(bnvar + 1e-5)**-0.5",
  bnraw: "bndiff * bnvar_inv",
};
