/**
 * `deno task train`'s own loss chart, read back from the files it writes: the first step's loss
 * (about ln 27 ≈ 3.3, the loss of a net that guesses uniformly, a little above it from the random
 * init) starts the line, every step's noise is drawn, and run.json holds the same losses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./helpers.ts";

Deno.test("deno task train's loss chart starts at the first step's loss and shows every step's noise", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-train-charts-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "exercises/cli/train.ts", "--steps", "2500", "--charts", dir, "--quiet"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const run = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
    const spec = JSON.parse(await Deno.readTextFile(join(dir, "loss.vl.json")));
    const layer = (name: string) =>
      spec.layer.find((l: { data?: { name?: string } }) => l.data?.name === name).data.values as {
        step: number;
        loss: number;
      }[];
    const raw = layer("loss_raw"), smooth = layer("loss_line");
    const first = run.trace.loss[0];
    assert.ok(first > 3.0 && first < 4.0, `first loss ${first}`);
    // Both lines start at the first step (steps count from 1 in deno task train), at its loss
    // (the same float32; run.json writes it in its fewest digits).
    assert.deepEqual([raw[0].step, Math.fround(raw[0].loss)], [1, Math.fround(first)]);
    assert.deepEqual([smooth[0].step, Math.fround(smooth[0].loss)], [1, Math.fround(first)]);
    // The noise: 3-step buckets' lowest and highest, far apart once training has settled.
    const late = raw.filter((r) => r.step > 1500).map((r) => r.loss);
    assert.ok(late.length > 600, `${late.length} raw points after step 1500`);
    assert.ok(Math.max(...late) / Math.min(...late) > 1.3, "no noise drawn");
    // The smoothed line falls below the first step's loss by far (the hockey stick).
    assert.ok(smooth.at(-1)!.loss < first - 0.8, `smoothed end ${smooth.at(-1)!.loss}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
