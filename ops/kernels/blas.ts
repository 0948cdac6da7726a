/**
 * A native BLAS for large float32 matrix products, when the system has one and the process may
 * load it: OpenBLAS (Debian's libopenblas0), or the library `NINJAGRAD_BLAS` names, through
 * `Deno.dlopen`. PyTorch multiplies with the same library; its AVX-512 kernels do four times the
 * multiply-adds per cycle that WebAssembly's 128-bit lanes can, and it splits a large product
 * over the machine's cores.
 *
 * Optional by design: without `--allow-ffi` (or `-A`), without the library, or with
 * `NINJAGRAD_BLAS=off`, nothing is loaded and matmul.ts runs its WebAssembly kernel, whose
 * float32 sums run in order. A BLAS rounds otherwise (fused multiply-adds, sums split into
 * blocks over k), so its products differ from the in-order ones in the last bits; `matmul.ts`
 * says which products go where, and `nativeBlas()` (shown by `deno task bench`) says what was
 * loaded. The library is loaded on the first product that would use it, and never unloaded.
 */

/** What was loaded. */
export interface NativeBlas {
  /** The file opened (`libopenblas.so.0`, or `NINJAGRAD_BLAS`'s path). */
  library: string;
  /** What the library says of itself (OpenBLAS: version, build, the kernels' core). */
  config: string;
  /** The CPU kernels OpenBLAS chose (`Cooperlake`, `Haswell`, …), or `""` when unknown. */
  core: string;
  /** The threads a large product may use (OpenBLAS's setting), or 0 when unknown. */
  threads: number;
}

const CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>;

/** The names tried when `NINJAGRAD_BLAS` names none. */
const DEFAULT_NAMES = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"];

let loaded: { lib: Library; info: NativeBlas } | null | undefined;
/** Why nothing was loaded, once `load` has run and failed. */
let missing = "";

/** Whether the process holds `name` without asking (no prompt is ever shown for this). */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/** `NINJAGRAD_BLAS` when readable: "off", a library path, or undefined. */
function setting(): string | undefined {
  if (!granted({ name: "env", variable: "NINJAGRAD_BLAS" })) return undefined;
  return Deno.env.get("NINJAGRAD_BLAS") || undefined;
}

function load(): { lib: Library; info: NativeBlas } | null {
  const wanted = setting();
  if (wanted === "off") {
    missing = "NINJAGRAD_BLAS=off";
    return null;
  }
  if (!granted({ name: "ffi" })) {
    missing = "no --allow-ffi";
    return null;
  }
  const names = wanted ? [wanted] : DEFAULT_NAMES;
  missing = `none of ${names.join(", ")} loads`;
  for (const name of names) {
    let lib: Library;
    try {
      lib = Deno.dlopen(name, SYMBOLS);
    } catch {
      continue;
    }
    const s = lib.symbols;
    const text = (p: Deno.PointerValue | undefined) =>
      p ? Deno.UnsafePointerView.getCString(p) : "";
    const info: NativeBlas = {
      library: name,
      config: text(s.openblas_get_config?.()),
      core: text(s.openblas_get_corename?.()),
      threads: s.openblas_get_num_threads?.() ?? 0,
    };
    return { lib, info };
  }
  return null;
}

/** The loaded BLAS (loading it on the first call), or undefined when there is none to use. */
export function nativeBlas(): NativeBlas | undefined {
  if (loaded === undefined) loaded = load();
  return loaded?.info;
}

/** Why there is no native BLAS (`""` when there is one). */
export function whyNoBlas(): string {
  return nativeBlas() ? "" : missing;
}

/**
 * Sets how many threads a large product may use (OpenBLAS; it keeps products under 64³
 * multiply-adds on one thread itself). Returns the setting now in force, or 0 without one.
 */
export function setBlasThreads(threads: number): number {
  const s = nativeBlas() && loaded!.lib.symbols;
  if (!s || !s.openblas_set_num_threads || !s.openblas_get_num_threads) return 0;
  s.openblas_set_num_threads(threads);
  return loaded!.info.threads = s.openblas_get_num_threads();
}

/**
 * C (m × n, row-major, overwritten) = op(A) @ op(B) by the native BLAS: A is m × k row-major
 * (k × m when `transA`), B is k × n (n × k when `transB`). False, having done nothing, when
 * there is no BLAS or C shares memory with an operand. The arrays are passed where they lie
 * (WebAssembly's memory or anywhere else): nothing is copied.
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  m: number,
  n: number,
  k: number,
): boolean {
  if (loaded === undefined) nativeBlas();
  if (!loaded || shares(C, A) || shares(C, B)) return false;
  loaded.lib.symbols.cblas_sgemm(
    CBLAS_ROW_MAJOR,
    transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
    transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
    m,
    n,
    k,
    1,
    A,
    transA ? m : k,
    B,
    transB ? k : n,
    0,
    C,
    n,
  );
  return true;
}

/** Whether two arrays share any byte (offsets first: reading an array's buffer costs more). */
function shares(a: Float32Array, b: Float32Array): boolean {
  return a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength && a.buffer === b.buffer;
}
