/**
 * fit's progress bar: drawn on a terminal as train's (step/total, loss, steps/s, ETA, the
 * evaluations above it), off elsewhere by default; the events pass through unchanged, and the
 * run starts once. Observable and lastValueFrom come from mod.ts.
 */
import assert from "node:assert/strict";
import { tap } from "rxjs";
import {
  fit,
  type FitEvent,
  Graph,
  lastValueFrom,
  mseLoss,
  nn,
  type Observable,
  optim,
  seededRandom,
  Tensor,
  withProgressBar,
} from "../mod.ts";

function run(steps: number, progress?: boolean): Observable<FitEvent> {
  const g = new Graph();
  const x = g.input("x", Tensor.from([[1], [2], [3]]));
  const model = new nn.Linear(1, 1, { random: seededRandom(1) });
  const loss = mseLoss(model.forward(x), g.input("y", Tensor.from([[2], [4], [6]])));
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.01 });
  let evals = 0;
  return fit({
    loss,
    optimizer,
    steps,
    evalEvery: 10,
    evaluate: () => ({ train: loss.value.item(), val: 0.5 + evals++ }),
    progress,
  });
}

Deno.test("fit's progress bar: steps, loss, rate and ETA on a terminal, evaluations above it", async () => {
  let text = "";
  const tty = { isTTY: true, columns: 100, write: (s: string) => (text += s, true) };
  const seen: FitEvent[] = [];
  const done = await lastValueFrom(
    withProgressBar(run(30, false), tty).pipe(tap((e) => seen.push(e))),
  );
  assert.equal(done.type, "done");
  assert.match(text, /\d+\/30 \| loss \d+\.\d{4} \| (\d+|…) steps\/s \| ETA/);
  assert.match(text, /step 10: train \d+\.\d{4}\s{2}val 0\.5000\n/);
  assert.match(text, /step 20: train \d+\.\d{4}\s{2}val 1\.5000\n/);
  // the run went once: 30 step events, evaluations at 10 and 20, the one at 30 its done event
  const counts = { step: 0, eval: 0, done: 0 };
  for (const e of seen) counts[e.type]++;
  assert.deepEqual(counts, { step: 30, eval: 2, done: 1 });
});

Deno.test("fit runs to its end with the bar by default (on a terminal) and on request", async () => {
  const plain = run(5);
  assert.equal(typeof plain.subscribe, "function");
  const last = await lastValueFrom(plain);
  assert.equal(last.type, "done");
  const forced = await lastValueFrom(run(5, true));
  assert.equal(forced.type, "done");
});
