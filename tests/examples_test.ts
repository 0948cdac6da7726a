/**
 * The examples of exercises/examples/, run small: micrograd's neuron (its gradients as the
 * lecture works them out by hand), micrograd's moons classifier (it learns to separate them),
 * and makemore part 5's WaveNet on the lecture's names for a few hundred steps (its loss falls
 * from ln 27 ≈ 3.3 towards the lecture's 2.0).
 */
import assert from "node:assert/strict";
import { moonsClassifier, neuron } from "../exercises/examples/micrograd.ts";
import { trainWaveNet } from "../exercises/examples/wavenet.ts";
import { lectureNames } from "./helpers.ts";

Deno.test("micrograd's neuron: o = 0.7071, do/dn = 0.5, dw1 = 1, dx1 = −1.5, dx2 = 0.5, dw2 = 0", () => {
  const g = neuron();
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-4;
  assert.ok(near(g.o, 0.7071), `o = ${g.o}`);
  assert.ok(near(g.n, 0.5) && near(g.b, 0.5), `dn = ${g.n}`);
  assert.ok(near(g.x1, -1.5) && near(g.w1, 1) && near(g.x2, 0.5) && g.w2 === 0, JSON.stringify(g));
});

Deno.test("micrograd's moons classifier: max-margin loss with L2, 100 SGD steps separate them", async () => {
  const { losses, accuracy } = await moonsClassifier();
  assert.equal(losses.length, 100);
  assert.ok(losses[99] < 0.05 && losses[0] > 0.5, `loss ${losses[0]} → ${losses[99]}`);
  // micrograd's notebook reaches 100% on its draw of the moons; the noise can put a point or
  // two of another draw on the wrong side of any smooth boundary.
  assert.ok(accuracy >= 0.97, `accuracy ${accuracy}`);
});

Deno.test("makemore part 5's WaveNet on the lecture's names: 500 steps take the loss from 3.3 down", async () => {
  const run = await trainWaveNet(await lectureNames(), {
    block: 8,
    embd: 10,
    hidden: 32,
    steps: 500,
    batch: 32,
    valExamples: 2000,
    seed: 42,
  });
  assert.equal(run.parameters, 27 * 10 + 20 * 32 + 64 * 32 * 2 + 3 * 2 * 32 + 32 * 27 + 27);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [first, last] = [mean(run.losses.slice(0, 20)), mean(run.losses.slice(-50))];
  assert.ok(first > 3 && last < 2.6, `minibatch loss ${first} → ${last}`);
  assert.ok(run.val < 2.6 && run.train < 2.6, `train ${run.train}, val ${run.val}`);
});
