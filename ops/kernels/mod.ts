/** Every kernel, for op records to import as `t`: `t.mul(g, b)`. */
export * from "./elementwise.ts";
export * from "./reduce.ts";
export * from "./matmul.ts";
export * from "./indexing.ts";
export * from "./softmax.ts";
export * from "./shape.ts";
export { sumTo } from "./broadcast.ts";
export * from "./activation.ts";
export * from "./select.ts";
export * from "./layout.ts";
export * from "./batched.ts";
export * from "./closed_form.ts";
