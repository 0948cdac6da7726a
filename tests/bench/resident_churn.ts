/**
 * For tests/bench/steady_memory.ts, run with `--v8-flags=--expose-gc`: makes 50 rounds of 40 MB of
 * resident tensors (2 GB in all, in a 256 MiB memory), dropping each round's before the next and
 * letting the collector and the finalizers run; counts the rounds whose tensors were all
 * resident. Then fills the memory on purpose and checks that what does not fit is a plain,
 * zeroed array. Prints `{ residentRounds, plainWhenFull }`.
 */
import { isResident, residentF32 } from "../../ops/kernels/memory.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

let residentRounds = 0;
for (let round = 0; round < 50; round++) {
  let all = true;
  const held: Float32Array[] = [];
  for (let i = 0; i < 1000; i++) {
    const x = residentF32(10_000);
    if (!isResident(x) || x[0] !== 0 || x[9_999] !== 0) all = false;
    x.fill(round + 1);
    held.push(x);
  }
  if (all) residentRounds++;
  held.length = 0;
  gc();
  // Finalizers run in a later task.
  await new Promise((resolve) => setTimeout(resolve, 0));
}

// Keep everything: the memory fills, and then tensors are plain ones.
const kept: Float32Array[] = [];
let plainWhenFull = false;
for (let i = 0; i < 100_000 && !plainWhenFull; i++) {
  const x = residentF32(100_000);
  kept.push(x);
  if (!isResident(x)) plainWhenFull = x.length === 100_000 && x.every((v) => v === 0);
}
console.log(JSON.stringify({ residentRounds, plainWhenFull }));
