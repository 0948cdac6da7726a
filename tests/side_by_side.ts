/**
 * `deno run -A tests/side_by_side.ts [--json] [--rounds K] [--steps N] [--repeats R]
 *   [--sizes 64,128,256,512,1024] [--threads 1,2] [--no-scale] [--no-lecture] [--no-makemore]
 *   [--models bigram,mlp,rnn,gru,bow,transformer]`
 *
 * The engine against PyTorch in one run, in turns (K rounds of PyTorch, then the engine), each
 * side in a process of its own started with the same environment: OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset (they select older kernels), OPENBLAS_NUM_THREADS the thread count of
 * the race (torch.set_num_threads does not reach OpenBLAS; the engine sets it through
 * `bench --threads`). Needs /usr/bin/python3 with torch; not part of `deno task test`.
 *
 * Cases: the lecture's, one thread: ex4-step (one exercise-4 training step: batch sampling,
 * forward, the hand-written backward, SGD) against PyTorch's manual backward both as the lecture
 * writes it (dC by a Python loop over the batch) and vectorised (index_add_); ex1-step (the
 * atomic forward and backward) against loss.backward(). Then at each thread count: the n × n
 * chain `sum(tanh(a @ b))` forward and backward, and the batch-512 MLP's training step
 * (exercises/bench/scale.ts). Then, at one thread, each makemore model's training step
 * (`--models`, default all six; exercises/bench/makemore.ts against side_by_side.py's torch twin
 * at makemore's default sizes, AdamW included). Ratios are PyTorch's median time over the engine's: CPU time on
 * one thread, wall time on more (CPU time counts every thread, spinning ones too).
 *
 * With gcc at hand, the lecture's round also races tests/bench/ex4_step.c, the same step in plain
 * C (compiled with -O3 -march=native -ffast-math into a temporary folder): the native limit,
 * printed as the engine's time over the C step's.
 *
 * First it says which BLAS each side multiplies with: PyTorch's build setting
 * (`torch.__config__.show()`), the system's libblas.so.3 alternative, the library PyTorch's
 * process mapped and what OpenBLAS says of itself; a ratio against the reference BLAS (or a BLAS
 * it cannot name) is printed only with that said on its line.
 */
import { NinjagradError, UsageError } from "../ops/kernels/errors.ts";
import { numberFlag, parseFlags, runMain } from "../exercises/cli/main.ts";
import { NAMES_PATH, ROOT } from "../exercises/bench/timing.ts";
import { join } from "node:path";
import { MODEL_TYPES } from "../exercises/makemore/models.ts";

const PYTHON = "/usr/bin/python3";
const UNSET = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

/** One side's timings of one configuration: msPerStep (CPU) and wallMsPerStep by case. */
type Round = Record<string, [number, number]>;

/** What PyTorch's side says of its BLAS (side_by_side.py's first line). */
interface TorchInfo {
  torch: string;
  blasInfo: string;
  blasLibraries: string[];
  torchThreads: number;
  openblas: { library: string; config: string; core: string; threads: number } | null;
}

/** The environment both sides run in: this one, less UNSET, with OpenBLAS's thread count. */
function raceEnv(threads: number): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of UNSET) delete env[name];
  env.OPENBLAS_NUM_THREADS = String(threads);
  return env;
}

async function run(cmd: string, args: string[], threads: number, who: string) {
  const { code, stdout, stderr } = await new Deno.Command(cmd, {
    args,
    env: raceEnv(threads),
    clearEnv: true,
  }).output();
  if (code !== 0) {
    const err = new TextDecoder().decode(stderr).trim().split("\n").pop();
    throw new NinjagradError(`the ${who} side failed: ${err}`);
  }
  return new TextDecoder().decode(stdout).trim().split("\n").map((l) => JSON.parse(l));
}

function collect(lines: { case: string; msPerStep?: number; wallMsPerStep?: number }[]): Round {
  const out: Round = {};
  for (const r of lines) {
    if (r.msPerStep !== undefined) out[r.case] = [r.msPerStep, r.wallMsPerStep!];
  }
  return out;
}

interface Config {
  name: string;
  threads: number;
  torchArgs: string[];
  engineArgs: string[];
  /** PyTorch case → engine case. */
  pairs: [string, string][];
}

/** tests/bench/ex4_step.c compiled into a temporary folder, or undefined without gcc. */
async function compileNative(): Promise<string | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-native-" });
  const exe = join(dir, "ex4_step");
  const source = join(ROOT, "tests", "bench", "ex4_step.c");
  const args = ["-O3", "-march=native", "-ffast-math", "-o", exe, source, "-lm"];
  try {
    const { code } = await new Deno.Command("gcc", { args, stderr: "null" }).output();
    if (code === 0) return exe;
  } catch {
    // no gcc: no native race
  }
  await Deno.remove(dir, { recursive: true });
  return undefined;
}

async function hasTorch(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(PYTHON, { args: ["-c", "import torch"] }).output();
    return code === 0;
  } catch {
    return false;
  }
}

/** `update-alternatives --display libblas.so.3-…`: the line saying where the link points. */
async function blasAlternative(): Promise<string> {
  try {
    const { stdout } = await new Deno.Command("update-alternatives", {
      args: ["--display", "libblas.so.3-x86_64-linux-gnu"],
    }).output();
    const text = new TextDecoder().decode(stdout);
    return text.split("\n").find((l) => l.includes("currently points to"))?.trim() ?? text.trim();
  } catch {
    return "(update-alternatives not available)";
  }
}

/** Which BLAS PyTorch multiplies with, and whether that is a fair race. */
function describeTorchBlas(info: TorchInfo): { text: string; fair: boolean } {
  if (info.openblas) {
    const o = info.openblas;
    return { text: `OpenBLAS (${o.config}; kernels: ${o.core}) via ${o.library}`, fair: true };
  }
  if (/mkl/i.test(info.blasInfo)) return { text: `MKL (${info.blasInfo})`, fair: true };
  const reference = info.blasLibraries.some((l) => /\/blas\/libblas/.test(l));
  return {
    text: `${reference ? "the REFERENCE BLAS (netlib)" : "an unknown BLAS"}: ${
      info.blasLibraries.join(", ") || "none mapped"
    }`,
    fair: false,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const { values } = parseFlags("side_by_side", Deno.args, {
    json: { type: "boolean" },
    steps: { type: "string" },
    repeats: { type: "string" },
    rounds: { type: "string" },
    sizes: { type: "string" },
    threads: { type: "string" },
    "no-scale": { type: "boolean" },
    "no-lecture": { type: "boolean" },
    "no-makemore": { type: "boolean" },
    models: { type: "string" },
  });
  const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);
  const steps = numberFlag("steps", str(values.steps), 400, { min: 1, integer: true });
  const repeats = numberFlag("repeats", str(values.repeats), 5, { min: 1, integer: true });
  const rounds = numberFlag("rounds", str(values.rounds), 3, { min: 1, integer: true });
  const sizes = str(values.sizes) ?? "64,128,256,512,1024";
  const threadCounts = (str(values.threads) ?? "1,2").split(",").map(Number);
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new UsageError(`--threads takes thread counts separated by commas, like 1,2`);
  }
  if (!(await hasTorch())) {
    throw new UsageError(`${PYTHON} cannot import torch: apt-get install -y python3-torch`);
  }
  const script = join(ROOT, "tests", "side_by_side.py");
  const bench = join(ROOT, "exercises", "cli", "bench.ts");
  const configs: Config[] = [];
  if (!values["no-lecture"]) {
    configs.push({
      name: "lecture",
      threads: 1,
      torchArgs: ["--cases", "lecture", "--steps", String(steps)],
      engineArgs: ["--no-kernels", "--steps", String(steps)],
      pairs: [
        ["ex4-step", "ex4-step"],
        ["ex4-step-index-add", "ex4-step"],
        ["ex1-step", "ex1-step"],
      ],
    });
  }
  if (!values["no-scale"]) {
    const cases = [...sizes.split(",").map((n) => `chain ${n.trim()}`), "mlp 512x1024"];
    for (const threads of threadCounts) {
      configs.push({
        name: `scale, ${threads} thread${threads > 1 ? "s" : ""}`,
        threads,
        torchArgs: ["--cases", "scale", "--sizes", sizes],
        engineArgs: ["--scale", "--sizes", sizes],
        pairs: cases.map((c) => [c, c]),
      });
    }
  }

  if (!values["no-makemore"]) {
    const models = str(values.models) ?? MODEL_TYPES.join(",");
    const bad = models.split(",").find((m) => !(MODEL_TYPES as readonly string[]).includes(m));
    if (bad !== undefined) {
      throw new UsageError(
        `--models takes ${MODEL_TYPES.join(", ")} (commas between), got "${bad}"`,
      );
    }
    configs.push({
      name: "makemore, 1 thread",
      threads: 1,
      torchArgs: ["--cases", "makemore", "--models", models],
      engineArgs: ["--makemore", models],
      pairs: models.split(",").map((m) => [`makemore-${m.trim()}`, `makemore-${m.trim()}`]),
    });
  }

  // The header: which BLAS each side uses.
  const probe = await run(PYTHON, [script, NAMES_PATH, "--cases", "none"], 1, "PyTorch");
  const info = probe[0] as TorchInfo & { case: string };
  const torchBlas = describeTorchBlas(info);
  const enginePaths = (await run(
    Deno.execPath(),
    [
      "run",
      "-A",
      bench,
      "--json",
      "--no-kernels",
      "--steps",
      "1",
      "--repeats",
      "1",
    ],
    1,
    "engine",
  ))[0];
  const alternative = await blasAlternative();
  const engineBlas = enginePaths.blas
    ? `native BLAS ${enginePaths.blas.library} (${enginePaths.blas.config}) for float32 products ` +
      `of ≥ ${enginePaths.blasMin} multiply-adds, WebAssembly SIMD below`
    : `WebAssembly SIMD only (no native BLAS: ${enginePaths.whyNoBlas})`;
  const env = `both sides: ${UNSET.join(", ")} unset; OPENBLAS_NUM_THREADS = the race's threads`;
  if (values.json) {
    console.log(JSON.stringify({
      case: "blas",
      torch: info,
      torchBlas: torchBlas.text,
      fair: torchBlas.fair,
      libblasAlternative: alternative,
      engine: enginePaths,
    }));
  } else {
    console.log(`PyTorch ${info.torch} (${info.blasInfo}) multiplies with ${torchBlas.text}`);
    console.log(`libblas.so.3 alternative: ${alternative}`);
    console.log(`engine: ${engineBlas}`);
    console.log(env);
    if (!torchBlas.fair) {
      console.log(
        "PyTorch is NOT using an optimised BLAS here: every ratio below is against it and says so",
      );
    }
  }

  const native = configs.some((c) => c.name === "lecture") ? await compileNative() : undefined;
  const nativeRounds: Round[] = [];
  const torch: Record<string, Round[]> = {}, engine: Record<string, Round[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      if (native && c.name === "lecture") {
        nativeRounds.push(
          collect(await run(native, [NAMES_PATH, String(steps * 5), String(repeats)], 1, "C")),
        );
      }
      const t = await run(
        PYTHON,
        [
          script,
          NAMES_PATH,
          "--threads",
          String(c.threads),
          "--repeats",
          String(repeats),
          ...c.torchArgs,
        ],
        c.threads,
        "PyTorch",
      );
      (torch[c.name] ??= []).push(collect(t));
      const threadFlag = enginePaths.blas ? ["--threads", String(c.threads)] : [];
      const e = await run(
        Deno.execPath(),
        [
          "run",
          "-A",
          bench,
          "--json",
          "--repeats",
          String(repeats),
          ...threadFlag,
          ...c.engineArgs,
        ],
        c.threads,
        "engine",
      );
      (engine[c.name] ??= []).push(collect(e));
    }
  }

  if (native) await Deno.remove(join(native, ".."), { recursive: true });
  const tag = torchBlas.fair ? "" : "  [vs PyTorch on the REFERENCE or an unknown BLAS]";
  for (const c of configs) {
    if (!values.json) console.log(`\n${c.name}:`);
    for (const [theirs, ours] of c.pairs) {
      const pick = (rs: Round[], name: string, i: 0 | 1) => median(rs.map((x) => x[name][i]));
      const e = pick(engine[c.name], ours, 0), t = pick(torch[c.name], theirs, 0);
      const ew = pick(engine[c.name], ours, 1), tw = pick(torch[c.name], theirs, 1);
      // One thread: CPU time, which others' load moves least. More: wall time.
      const byWall = c.threads > 1;
      const ratio = byWall ? tw / ew : t / e;
      const row = {
        case: ours,
        torchCase: theirs,
        threads: c.threads,
        engineMsPerStep: e,
        torchMsPerStep: t,
        engineWallMsPerStep: ew,
        torchWallMsPerStep: tw,
        speedup: ratio,
        speedupBy: byWall ? "wall" : "cpu",
        fair: torchBlas.fair,
      };
      if (values.json) console.log(JSON.stringify(row));
      else {
        const f = (x: number) => x.toFixed(4).padStart(10);
        console.log(
          `  ${ours.padEnd(13)} vs torch ${theirs.padEnd(19)} cpu ${f(e)} / ${f(t)} ms   wall ${
            f(ew)
          } / ${f(tw)} ms   ${ratio.toFixed(2).padStart(6)}x (${byWall ? "wall" : "cpu"})${tag}`,
        );
      }
    }
    if (c.name === "lecture" && nativeRounds.length > 0) {
      const pick = (rs: Round[], name: string, i: 0 | 1) => median(rs.map((x) => x[name][i]));
      const n = pick(nativeRounds, "ex4-step-native", 0), e = pick(engine[c.name], "ex4-step", 0);
      const row = {
        case: "ex4-step",
        nativeCase: "ex4-step-native",
        engineMsPerStep: e,
        nativeMsPerStep: n,
        slowdown: e / n,
      };
      if (values.json) console.log(JSON.stringify(row));
      else {
        console.log(
          `  ex4-step      vs native C (tests/bench/ex4_step.c)  cpu ${e.toFixed(4)} / ${
            n.toFixed(4)
          } ms: the engine takes ${(e / n).toFixed(2)}x the C step's time`,
        );
      }
    }
  }
}

if (import.meta.main) await runMain(main);
