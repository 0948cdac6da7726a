/**
 * `deno test -A tests/bench/steady_memory.ts`: what the collector decides, run apart from the
 * default suite, whose results must not hang on a collection's timing. Steady-state training
 * steps keep nothing alive (the heap stays flat; `deno task bench --heap N` prints the series),
 * and a collected tensor's block of the kernels' memory is used again.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const HEAP = fileURLToPath(new URL("../../exercises/bench/heap.ts", import.meta.url));

Deno.test("steady-state training steps keep nothing alive: the heap stays flat", async () => {
  // In a process of its own with gc exposed, so that each sample is the live heap alone.
  const args = ["run", "--quiet", "-A", "--v8-flags=--expose-gc", HEAP, "small", "60000"];
  const { code, stdout } = await new Deno.Command(Deno.execPath(), { args }).output();
  assert.equal(code, 0);
  const { heapUsedBytes: heap, gc } = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(gc, true);
  // Warm-up settles within the first samples; a leak of one small object per step would add
  // 60,000 of them (about a megabyte) by the end.
  const settled = [...heap.slice(4, 9)].sort((x: number, y: number) => x - y)[2];
  const grown = heap[heap.length - 1] - settled;
  assert.ok(grown < 400_000, `heap grew by ${grown} bytes over the last 45,000 steps`);
});

Deno.test("a collected tensor's block is used again: 2 GB of tensors made and dropped fit", async () => {
  // In a process of its own, with the collector at hand: 50 rounds of 40 MB of tensors in a
  // 256 MiB memory, each round's dropped before the next; then the memory filled on purpose.
  const script = fileURLToPath(new URL("./resident_churn.ts", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script],
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const report = JSON.parse(text);
  assert.equal(report.residentRounds, 50, text);
  assert.ok(report.plainWhenFull, "past the memory's size, tensors are plain ones, still zeroed");
});
