/**
 * `deno task wasm [--check]`: assembles the WebAssembly kernels from their text source
 * (kernels.wat → kernels.wasm) with wabt from npm, pinned in deno.json, so that the checked-in binary
 * is exactly what its source gives. `--check` writes nothing and fails when the binary differs:
 * tests/wasm_test.ts runs the same check in CI.
 */
// Its only import site, by full specifier as every dependency's (see graph/deps.ts).
// deno-lint-ignore no-import-prefix
import wabtInit from "npm:wabt@1.0.39";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { parseFlags } from "./main.ts";

/** The kernels' sources and binaries, in ops/kernels/wasm/. */
export const MODULES = ["kernels"] as const;

const here = (name: string) => new URL(`../../ops/kernels/wasm/${name}`, import.meta.url);

/** Assembles one module's text source into its binary, deterministically (no debug names). */
export async function assemble(name: typeof MODULES[number]): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const source = await Deno.readTextFile(here(`${name}.wat`));
  const module = wabt.parseWat(`${name}.wat`, source, { simd: true });
  try {
    module.validate();
    return new Uint8Array(module.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    module.destroy();
  }
}

/** Whether the checked-in binary is byte for byte what the source assembles to. */
export async function upToDate(name: typeof MODULES[number]): Promise<boolean> {
  const built = await assemble(name);
  const checkedIn = await Deno.readFile(here(`${name}.wasm`)).catch(() => new Uint8Array());
  return built.length === checkedIn.length && built.every((b, i) => b === checkedIn[i]);
}

const USAGE = "deno task wasm [--check]: assembles ops/kernels/wasm/*.wat into the checked-in " +
  ".wasm files; --check fails if one is stale";

async function main(): Promise<void> {
  const { values } = parseFlags("wasm", Deno.args, { check: { type: "boolean" } }, USAGE);
  const check = values.check === true;
  for (const name of MODULES) {
    if (check) {
      if (!(await upToDate(name))) {
        throw new NinjagradError(
          `ops/kernels/wasm/${name}.wasm is not what ${name}.wat assembles to: run deno task wasm`,
        );
      }
      console.log(`${name}.wasm is up to date`);
    } else {
      const bytes = await assemble(name);
      await Deno.writeFile(here(`${name}.wasm`), bytes);
      console.log(`wrote ops/kernels/wasm/${name}.wasm (${bytes.length} bytes)`);
    }
  }
}

if (import.meta.main) {
  const { runMain } = await import("./main.ts");
  await runMain(main);
}
