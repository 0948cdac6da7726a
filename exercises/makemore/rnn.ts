/**
 * makemore.py's RNN language model, with either cell: a vanilla RNN (RNNCell) or a GRU (GRUCell).
 * The cell runs once per time step, from a learned start state. Open it beside makemore.py's
 * `class RNNCell`, `class GRUCell` and `class RNN`.
 */
import * as nn from "../../ops/layers.ts";
import {
  add,
  concat,
  crossEntropy,
  mul,
  reshape,
  sigmoid,
  slice,
  stack,
  sub,
  tanh,
} from "../../ops/build.ts";
import { expand } from "../../ops/torch.ts";
import { type Node } from "../../graph/node.ts";
import { Tensor } from "../../ops/kernels/tensor.ts";
import type { ModelConfig, Random } from "./config.ts";

/** torch.cat([a, b], dim=1). */
const cat = (a: Node, b: Node): Node => concat([a, b], 1);

/** h_t = tanh(W [x_t, h_{t−1}] + b). */
export class RNNCell extends nn.Module {
  xh_to_h: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    const { nEmbd, nEmbd2 } = config;
    this.xh_to_h = new nn.Linear(nEmbd + nEmbd2, nEmbd2, { init: "pytorch", random });
  }

  forward(xt: Node, hprev: Node): Node {
    const xh = cat(xt, hprev);
    return tanh(this.xh_to_h.forward(xh));
  }
}

/** The GRU's recurrence: a reset gate r, a candidate hbar and a switch gate z. */
export class GRUCell extends nn.Module {
  xh_to_z: nn.Linear;
  xh_to_r: nn.Linear;
  xh_to_hbar: nn.Linear;

  constructor(config: ModelConfig, random: Random) {
    super();
    const { nEmbd, nEmbd2 } = config, init = "pytorch";
    this.xh_to_z = new nn.Linear(nEmbd + nEmbd2, nEmbd2, { init, random });
    this.xh_to_r = new nn.Linear(nEmbd + nEmbd2, nEmbd2, { init, random });
    this.xh_to_hbar = new nn.Linear(nEmbd + nEmbd2, nEmbd2, { init, random });
  }

  forward(xt: Node, hprev: Node): Node {
    // First use the reset gate to wipe some channels of the hidden state to zero.
    const xh = cat(xt, hprev);
    const r = sigmoid(this.xh_to_r.forward(xh));
    const hprevReset = mul(r, hprev);
    // The candidate new hidden state hbar.
    const hbar = tanh(this.xh_to_hbar.forward(cat(xt, hprevReset)));
    // The switch gate: whether each channel is updated at all.
    const z = sigmoid(this.xh_to_z.forward(xh));
    // Blend the previous hidden state and the candidate.
    return add(mul(sub(1, z), hprev), mul(z, hbar));
  }
}

/** The RNN language model; `cellType` "rnn" or "gru". */
export class RNN extends nn.Module {
  readonly blockSize: number;
  readonly vocabSize: number;
  start: nn.Parameter;
  wte: nn.Embedding;
  cell: RNNCell | GRUCell;
  lm_head: nn.Linear;

  constructor(config: ModelConfig, cellType: "rnn" | "gru", random: Random) {
    super();
    this.blockSize = config.blockSize;
    this.vocabSize = config.vocabSize;
    // The starting hidden state.
    this.start = new nn.Parameter(Tensor.zeros([1, config.nEmbd2], "float64"));
    // Embedding first, as makemore makes them: the same seed draws the same numbers for each.
    this.wte = new nn.Embedding(config.vocabSize, config.nEmbd, { random });
    this.cell = cellType === "rnn" ? new RNNCell(config, random) : new GRUCell(config, random);
    this.lm_head = new nn.Linear(config.nEmbd2, this.vocabSize, { init: "pytorch", random });
  }

  getBlockSize(): number {
    return this.blockSize;
  }

  forward(idx: Node, targets?: Node): [Node, Node | undefined] {
    // b is live, read off idx on every run: the graph takes any batch. t is a number, fixed
    // when the graph is built: the loop below unrolls t steps, as Python's loop runs them.
    const b = idx.size(0), t = idx.shape[1];
    // Embed all the integers up front and all at once.
    const emb = this.wte.forward(idx); // (b, t, n_embd)
    // Iterate over the inputs and update the RNN state each tick.
    let hprev = expand(this.start.in(idx.graph), [b, -1]); // expand out the batch dimension
    const hiddens: Node[] = [];
    for (let i = 0; i < t; i++) {
      const xt = reshape(slice(emb, 1, i, i + 1), [b, -1]); // emb[:, i, :], (b, n_embd)
      hprev = this.cell.forward(xt, hprev); // (b, n_embd2)
      hiddens.push(hprev);
    }
    // Decode the outputs.
    const hidden = stack(hiddens, 1); // (b, t, n_embd2)
    const logits = this.lm_head.forward(hidden);
    const loss = targets && crossEntropy(logits, targets, { ignoreIndex: -1 });
    return [logits, loss];
  }
}
