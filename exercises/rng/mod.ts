/**
 * Random number generators that reproduce the lecture's: PyTorch's CPU generator (`randn`,
 * `randint`) and CPython's `random` (`shuffle`), on a shared 32-bit Mersenne Twister.
 * @module
 */
export { MT19937, type MT19937State } from "./mt19937.ts";
export { PythonRandom } from "./python_random.ts";
export {
  type BoxMullerKernel,
  type RandnDtype,
  TORCH_DEFAULT_SEED,
  torchDefaultGenerator,
  TorchGenerator,
  type TorchGeneratorState,
} from "./torch.ts";
