/**
 * ninjagrad: a reactive dataflow graph engine for learning and doing backpropagation by hand.
 *
 * ```ts
 * import { Graph, mul, sum, tanh, Tensor } from "./mod.ts";
 * const g = new Graph({ dtype: "float64" });
 * const x = g.param("x", Tensor.from([0.5, -1]));
 * const y = mul(tanh(x), 3).named("y");
 * const grads = g.backward(sum(mul(y, y)));
 * grads.get("x"); // d(y²)/dx
 * ```
 * @module
 */
export { Tensor } from "./ops/kernels/tensor.ts";
export type { DType, FloatDType, NestedNumbers, Shape, TensorData } from "./ops/kernels/tensor.ts";
export { formatShape, sameShape, sizeOf } from "./ops/kernels/tensor.ts";
export { NinjagradError, UsageError } from "./ops/kernels/errors.ts";
export { Graph } from "./graph/graph.ts";
export type { EngineEvent, NodeRef, Operand, RuleCounts } from "./graph/graph.ts";
export { Node } from "./graph/node.ts";
export { Size } from "./graph/size.ts";
export type { SizeLike, SizeSpec } from "./graph/size.ts";
export type { NodeKind, Subgraph } from "./graph/node.ts";
export { Gradients } from "./graph/backward.ts";
export type { BackwardOptions, RuleFailure } from "./graph/backward.ts";
export { formatComparison } from "./graph/compare.ts";
export type { Blame, CompareOptions, Comparison, ComparisonRow } from "./graph/compare.ts";
export { nodeText } from "./graph/describe.ts";
export { gradcheck } from "./graph/gradcheck.ts";
export type { GradcheckOptions, GradcheckResult } from "./graph/gradcheck.ts";
export * from "./ops/build.ts";
export * from "./ops/torch.ts";
export { atomic, composite } from "./graph/op.ts";
export type { FusedBuffers } from "./ops/kernels/fused.ts";
export type { AnyRule, AtomicOp, CompositeOp, Op, Rule, RuleArgs, Rules } from "./graph/op.ts";
export { sumTo } from "./ops/kernels/broadcast.ts";
/** The op records, one per op: `ops.tanh.vjp.x` is tanh's local-derivative rule. */
export * as ops from "./ops/records.ts";
/** Tensor kernels for writing rules: `kernels.mul(g, b)`. */
export * as kernels from "./ops/kernels/mod.ts";
/**
 * Layers in the lecture series' "torchified" style: `new nn.Linear(30, 200)`, `nn.BatchNorm1d`,
 * `nn.Tanh`, `nn.Sequential([...])`; `forward(x)` builds a layer's nodes into x's graph and
 * `parameters()` returns its parameter leaves there.
 */
export * as nn from "./ops/layers.ts";
/** Optimizers: `new optim.SGD(params, { lr, momentum })`, `new optim.AdamW(params)`. */
export * as optim from "./ops/optim.ts";
export type { Optimizer, Schedule } from "./ops/optim.ts";
export { fit } from "./ops/fit.ts";
export { lastValueFrom, withProgressBar } from "./ops/progress.ts";
export type { BarStream } from "./ops/progress.ts";
export type { Observable } from "./graph/node.ts";
export type {
  EvalEvent,
  FitDoneEvent,
  FitEvent,
  FitOptions,
  LiveModel,
  StepEvent,
} from "./ops/fit.ts";
export { seededRandom } from "./ops/kernels/random.ts";
export { generate } from "./ops/generate.ts";
export type { Module, Parameter, StateDictOptions } from "./ops/module.ts";
export type { GenerateOptions } from "./ops/generate.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
} from "./ops/safetensors.ts";
export type { NamedTensors, SafetensorsOptions } from "./ops/safetensors.ts";
export type { Random } from "./ops/kernels/random.ts";
