/** Every op record, by family. A learner finds tanh's derivative in `unary.ts`. */
export { add, div, mul, neg, pow, sub } from "./arithmetic.ts";
export { abs, exp, log, sqrt, tanh } from "./unary.ts";
export { gelu, relu, sigmoid } from "./activation.ts";
export { clamp, maximum, minimum, where } from "./select.ts";
export { max, mean, min, sum, variance } from "./reduce.ts";
export { batchedMatmul, matmul } from "./matmul.ts";
export { reshape, transpose } from "./shape.ts";
export { concat, permute, slice, stack, transposeAxes } from "./layout.ts";
export { embedding, oneHot, pick } from "./indexing.ts";
export { logSoftmax, softmax } from "./softmax.ts";
export { batchNorm, crossEntropy, linear } from "./nn.ts";
export { layerNorm } from "./norm.ts";
export { crossEntropyAny, mseLoss } from "./loss.ts";
export { dropout } from "./dropout.ts";
export { expand, maskedFill, roll, tril, triu } from "./movement.ts";
export { arangeLike, argmax, gather, topkIndices } from "./search.ts";
export { multinomial } from "./sample.ts";
export { detach } from "./grad.ts";
