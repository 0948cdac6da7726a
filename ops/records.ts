/** Every op record, by family. A learner finds tanh's derivative in `unary.ts`. */
export { add, div, mul, neg, pow, sub } from "./arithmetic.ts";
export { exp, log, tanh } from "./unary.ts";
export { max, mean, sum, variance } from "./reduce.ts";
export { matmul } from "./matmul.ts";
export { reshape, transpose } from "./shape.ts";
export { embedding, oneHot, pick } from "./indexing.ts";
export { logSoftmax, softmax } from "./softmax.ts";
export { batchNorm, crossEntropy, linear } from "./nn.ts";
