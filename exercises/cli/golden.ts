/**
 * `deno task golden FILE [--dump OUT] [--json]`: builds the exercise-1 net in float64 from a golden
 * file's parameters and minibatch (any n_embd, n_hidden, block_size, batch), runs the engine's
 * automatic backward, and compares all 19 values, 26 gradients and the loss with the file's. A
 * row per tensor; exit 0 only when every one agrees within 1e-10 (relative to the largest
 * magnitude of that tensor). `--dump OUT` writes the engine's own numbers in the golden's format;
 * `--json` ends the output with one JSON line.
 * @module
 */
import { NinjagradError, UsageError } from "../../ops/kernels/errors.ts";
import { formatShape } from "../../ops/kernels/tensor.ts";
import { parseFlags, runMain, userPath } from "./main.ts";
import { compareGolden, type GoldenReport, readGolden } from "../golden.ts";

/** Parses the flags, compares, prints, and fails when a tensor disagrees. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags("golden", args, {
    dump: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "golden needs a golden file: deno task golden tests/golden/ex1_float64.json [--dump OUT] [--json]"
        : `golden takes one file, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const path = userPath(positionals[0]);
  const golden = await readGolden(path);
  const report = compareGolden(golden);
  console.log(describe(report, path, golden.source));
  if (typeof values.dump === "string") {
    const out = userPath(values.dump);
    try {
      await Deno.writeTextFile(out, JSON.stringify(report.dump) + "\n");
    } catch (e) {
      throw new NinjagradError(`cannot write the dump to ${out}: ${(e as Error).message}`);
    }
    console.log(`wrote the engine's ${report.rows.length} tensors and its loss to ${out}`);
  }
  if (values.json) {
    console.log(JSON.stringify({
      ok: report.ok,
      tolerance: report.tolerance,
      worst: report.worst,
      loss: report.loss,
      rows: report.rows,
    }));
  }
  if (!report.ok) {
    const bad = report.rows.filter((r) => !r.ok).length + (report.loss.ok ? 0 : 1);
    throw new NinjagradError(
      `${bad} of ${
        report.rows.length + 1
      } differ from the golden by more than ${report.tolerance} ` +
        `(worst: ${report.worst.kind} ${report.worst.name}, ${fmt(report.worst.error)})`,
    );
  }
}

/** The table: one row per tensor, then the loss and the verdict. */
export function describe(report: GoldenReport, path: string, source: string): string {
  const shapes = report.rows.map((r) => formatShape(r.shape));
  const sw = Math.max(...shapes.map((s) => s.length), 5);
  const nw = Math.max(...report.rows.map((r) => r.name.length), 4);
  const line = (kind: string, name: string, shape: string, error: string, verdict: string) =>
    `${kind.padEnd(5)}  ${name.padEnd(nw)}  ${shape.padEnd(sw)}  ${error.padEnd(9)}  ${verdict}`;
  const d = report.dump as { n_embd: number; n_hidden: number; block_size: number; batch: number };
  const lines = [
    `golden: ${path} (${source})`,
    `float64, n_embd ${d.n_embd}, n_hidden ${d.n_hidden}, block_size ${d.block_size}, batch ${d.batch}; ` +
    "relative error = max |engine − golden| / max |golden| of that tensor",
    "",
    line("kind", "name", "shape", "rel error", ""),
    ...report.rows.map((r, i) =>
      line(
        r.kind,
        r.name,
        shapes[i],
        fmt(r.error),
        (r.ok ? "ok" : `DIFFERS${r.problem ? `: ${r.problem}` : ""}`) +
          (r.scale ? ` (${r.scale})` : ""),
      )
    ),
    line("loss", "loss", "()", fmt(report.loss.error), report.loss.ok ? "ok" : "DIFFERS") +
    ` (engine ${report.loss.engine}, golden ${report.loss.golden})`,
    "",
    `worst relative error ${fmt(report.worst.error)} (${report.worst.kind} ${report.worst.name}): ${
      report.ok
        ? `all ${report.rows.length} tensors and the loss agree within ${report.tolerance}`
        : `not within ${report.tolerance}`
    }`,
  ];
  return lines.join("\n");
}

function fmt(x: number): string {
  return x === 0 ? "0" : Number.isFinite(x) ? x.toExponential(1) : String(x);
}

if (import.meta.main) await runMain(() => main(Deno.args));
