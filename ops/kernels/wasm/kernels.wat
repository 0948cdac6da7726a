;; WebAssembly SIMD kernels for float32 tensors (and float64 ones' matrix product). Built into
;; kernels.wasm by `deno task wasm` (ops/kernels/wasm/build.ts); ops/kernels/simd.ts calls them
;; on tensors that live in this memory, and copies other operands in and results out. Every
;; kernel gives the bits its JavaScript counterpart in ops/kernels gives (tests/kernels_test.ts):
;;   gemm32, transpose32   the matrix product, in float32 arithmetic (below);
;;   gemm64, transpose64   the matrix product of float64 tensors, in double;
;;   tanh                  a rational function in double, rounded once (within one ulp);
;;   exp, log              computed in double precision, rounded once to float32;
;;   ew, unary, colsum     elementwise ops with broadcasts, and sums over a batch, in float32;
;;   rowsum                sums of long rows, in sixteen partial sums;
;;   rowsum_short          sums of shorter rows in order, four rows at a time;
;;   sgd                   the training loop's update p −= lr·g, in float32 as PyTorch's;
;;   adamw                 AdamW's update, rounded as PyTorch's float32 ops round;
;;   copy_rows             slice's and concat's row moves;
;;   masked_fill           masked_fill (and its rule) where the mask repeats, by lane selects;
;;   fill_rows             a value per row splat across it (sum's and mean's rule);
;;   bn_forward            batchnorm's whole forward, node by node's bits (at the end);
;;   mul_one_minus_square  tanh's backward g·(1 − h²), in float32 as PyTorch's;
;;   all_finite            whether every value is finite (the engine's check of each gradient);
;;   bn_backward           batchnorm's closed-form dx, in two passes (the rule's bits);
;;   colsum_mul            sums over a batch of an elementwise product, in one pass;
;;   ce_forward            cross-entropy's whole forward, node by node's bits;
;;   gather_rows           the embedding's lookup, and scatter_add_rows its backward (at the end).
(module
  ;; 256 MiB, fixed: growing a memory detaches every array made on it, and tensors live here
  ;; (ops/kernels/memory.ts). Pages nobody touches cost address space, not memory.
  (memory (export "memory") 4096 4096)

  ;; gemm32: C = op(A) @ B in float32 arithmetic, four lanes at a time: every C[i][j] starts at
  ;; 0 and takes, for p in order, c ← f32(c + f32(A[i][p]·B[p][j])), exactly as the JavaScript
  ;; loop in matmul.ts rounds it (a float32 product and sum, rounded once each). Byte offsets
  ;; a, b, c into this module's memory; strides in floats:
  ;;   A  read in place as A[i][p] = a[i·rsA + p·csA] (so transposed or not, no packing);
  ;;   B  k rows of at least n floats, row p at b + p·ldb; a row may be read up to 3 floats past
  ;;      n (those lanes' results are dropped), so the caller leaves 16 readable bytes after B;
  ;;   C  m4 rows of n floats, row i at c + i·ldc, m4 = m rounded up to 4: the rows past m are
  ;;      scratch. (simd.ts calls it on panels of B's and C's columns, ldc C's full width, so
  ;;      that the panel of B it sweeps for every block of rows stays in the cache.)
  ;; Blocks of 4 rows × 8 columns (eight accumulators), then 4 × 4 to the end of the row; a
  ;; block's rows past m read row m − 1 again.
  (func (export "gemm32")
    (param $a i32) (param $rsA i32) (param $csA i32) (param $b i32) (param $ldb i32)
    (param $c i32) (param $m i32) (param $n i32) (param $k i32) (param $ldc i32)
    (local $i i32) (local $j i32) (local $p i32) (local $pb i32) (local $pc i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $rowB i32) (local $rowC i32)
    (local $x v128) (local $y0 v128) (local $y1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $rowB (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $rowC (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $rsA (i32.shl (local.get $rsA) (i32.const 2)))
    (local.set $csA (i32.shl (local.get $csA) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
        ;; Where the block's four rows start in A (rows past m: the last row again).
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rsA))))
        (local.set $a1 (i32.add (local.get $a) (i32.mul (call $row (local.get $i) (i32.const 1)
          (local.get $m)) (local.get $rsA))))
        (local.set $a2 (i32.add (local.get $a) (i32.mul (call $row (local.get $i) (i32.const 2)
          (local.get $m)) (local.get $rsA))))
        (local.set $a3 (i32.add (local.get $a) (i32.mul (call $row (local.get $i) (i32.const 3)
          (local.get $m)) (local.get $rsA))))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $pa0 (local.get $a0))
            (local.set $pa1 (local.get $a1))
            (local.set $pa2 (local.get $a2))
            (local.set $pa3 (local.get $a3))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (local.get $k))
            (block $kDone
              (br_if $kDone (i32.eqz (local.get $p)))
              (loop $kLoop
                (local.set $y0 (v128.load (local.get $pb)))
                (local.set $y1 (v128.load offset=16 (local.get $pb)))
                (local.set $x (v128.load32_splat (local.get $pa0)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $y0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $y1))))
                (local.set $x (v128.load32_splat (local.get $pa1)))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $y0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $y1))))
                (local.set $x (v128.load32_splat (local.get $pa2)))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $y0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $y1))))
                (local.set $x (v128.load32_splat (local.get $pa3)))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $y0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $y1))))
                (local.set $pa0 (i32.add (local.get $pa0) (local.get $csA)))
                (local.set $pa1 (i32.add (local.get $pa1) (local.get $csA)))
                (local.set $pa2 (i32.add (local.get $pa2) (local.get $csA)))
                (local.set $pa3 (i32.add (local.get $pa3) (local.get $csA)))
                (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
                (br_if $kLoop (local.tee $p (i32.sub (local.get $p) (i32.const 1))))))
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))
            (v128.store (local.get $pc) (local.get $c00))
            (v128.store offset=16 (local.get $pc) (local.get $c01))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (v128.store (local.get $pc) (local.get $c10))
            (v128.store offset=16 (local.get $pc) (local.get $c11))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (v128.store (local.get $pc) (local.get $c20))
            (v128.store offset=16 (local.get $pc) (local.get $c21))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (v128.store (local.get $pc) (local.get $c30))
            (v128.store offset=16 (local.get $pc) (local.get $c31))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        ;; Blocks of four columns (the last one maybe partly past n): one accumulator a row.
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $pa0 (local.get $a0))
            (local.set $pa1 (local.get $a1))
            (local.set $pa2 (local.get $a2))
            (local.set $pa3 (local.get $a3))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (local.get $k))
            (block $kDone4
              (br_if $kDone4 (i32.eqz (local.get $p)))
              (loop $kLoop4
                (local.set $y0 (v128.load (local.get $pb)))
                (local.set $c00 (f32x4.add (local.get $c00)
                  (f32x4.mul (v128.load32_splat (local.get $pa0)) (local.get $y0))))
                (local.set $c10 (f32x4.add (local.get $c10)
                  (f32x4.mul (v128.load32_splat (local.get $pa1)) (local.get $y0))))
                (local.set $c20 (f32x4.add (local.get $c20)
                  (f32x4.mul (v128.load32_splat (local.get $pa2)) (local.get $y0))))
                (local.set $c30 (f32x4.add (local.get $c30)
                  (f32x4.mul (v128.load32_splat (local.get $pa3)) (local.get $y0))))
                (local.set $pa0 (i32.add (local.get $pa0) (local.get $csA)))
                (local.set $pa1 (i32.add (local.get $pa1) (local.get $csA)))
                (local.set $pa2 (i32.add (local.get $pa2) (local.get $csA)))
                (local.set $pa3 (i32.add (local.get $pa3) (local.get $csA)))
                (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
                (br_if $kLoop4 (local.tee $p (i32.sub (local.get $p) (i32.const 1))))))
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))
            (call $store4 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c00))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (call $store4 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c10))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (call $store4 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c20))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (call $store4 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c30))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quads)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; Row i + d of a block, or the last row m − 1 where i + d is past it.
  (func $row (param $i i32) (param $d i32) (param $m i32) (result i32)
    (select (i32.add (local.get $i) (local.get $d)) (i32.sub (local.get $m) (i32.const 1))
      (i32.lt_u (i32.add (local.get $i) (local.get $d)) (local.get $m))))

  ;; Stores the first min(left, 4) lanes of v (float32) at byte offset at.
  (func $store4 (param $at i32) (param $left i32) (param $v v128)
    (if (i32.ge_u (local.get $left) (i32.const 4))
      (then (v128.store (local.get $at) (local.get $v)) (return)))
    (if (i32.ge_u (local.get $left) (i32.const 2))
      (then
        (v128.store64_lane 0 (local.get $at) (local.get $v))
        (if (i32.eq (local.get $left) (i32.const 3))
          (then (v128.store32_lane offset=8 2 (local.get $at) (local.get $v)))))
      (else
        (if (i32.eq (local.get $left) (i32.const 1))
          (then (v128.store32_lane 0 (local.get $at) (local.get $v)))))))

  ;; Transposes for gemm32 a B read transposed: dst (k × n row-major) = srcᵀ, src n × k
  ;; row-major. Four values of a row of src at a time, one to each of four rows of dst.
  (func (export "transpose32") (param $src i32) (param $dst i32) (param $k i32) (param $n i32)
    (local $j i32) (local $p i32) (local $at i32) (local $to i32) (local $v v128) (local $row i32)
    (local.set $row (i32.shl (local.get $n) (i32.const 2)))
    (block $colsDone
      (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $at (i32.add (local.get $src)
          (i32.shl (i32.mul (local.get $j) (local.get $k)) (i32.const 2))))
        (local.set $to (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (i32.const 0))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $k)))
            (local.set $v (v128.load (local.get $at)))
            (v128.store32_lane 0 (local.get $to) (local.get $v))
            (v128.store32_lane 1 (i32.add (local.get $to) (local.get $row)) (local.get $v))
            (v128.store32_lane 2 (i32.add (local.get $to) (i32.shl (local.get $row) (i32.const 1)))
              (local.get $v))
            (v128.store32_lane 3 (i32.add (local.get $to) (i32.mul (local.get $row) (i32.const 3)))
              (local.get $v))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (local.set $to (i32.add (local.get $to) (i32.shl (local.get $row) (i32.const 2))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $p) (local.get $k)))
            (f32.store (local.get $to) (f32.load (local.get $at)))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $to (i32.add (local.get $to) (local.get $row)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $sl)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cols))))

  ;; gemm64: C = op(A) @ B for float64 tensors, two lanes at a time: every C[i][j] starts at 0
  ;; and adds, for p in order, the double product A[i][p]·B[p][j], each rounded as JavaScript's
  ;; `acc += a * b` rounds it (no fused multiply-add): the bits of matmul.ts's loops. Byte
  ;; offsets and float strides as gemm32's; B's rows may be read up to one double past n (16
  ;; readable bytes after B); C has m rounded up to 4 rows, the extra ones scratch. Blocks of
  ;; 4 rows × 4 columns (eight accumulators), then 4 × 2 to the end of the row.
  (func (export "gemm64")
    (param $a i32) (param $rsA i32) (param $csA i32) (param $b i32) (param $ldb i32)
    (param $c i32) (param $m i32) (param $n i32) (param $k i32)
    (local $i i32) (local $j i32) (local $p i32) (local $pb i32) (local $pc i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $rowB i32) (local $rowC i32)
    (local $x v128) (local $y0 v128) (local $y1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $rowB (i32.shl (local.get $ldb) (i32.const 3)))
    (local.set $rowC (i32.shl (local.get $n) (i32.const 3)))
    (local.set $rsA (i32.shl (local.get $rsA) (i32.const 3)))
    (local.set $csA (i32.shl (local.get $csA) (i32.const 3)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rsA))))
        (local.set $a1 (i32.add (local.get $a) (i32.mul (call $row (local.get $i) (i32.const 1)
          (local.get $m)) (local.get $rsA))))
        (local.set $a2 (i32.add (local.get $a) (i32.mul (call $row (local.get $i) (i32.const 2)
          (local.get $m)) (local.get $rsA))))
        (local.set $a3 (i32.add (local.get $a) (i32.mul (call $row (local.get $i) (i32.const 3)
          (local.get $m)) (local.get $rsA))))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
            (local.set $c00 (v128.const i64x2 0 0))
            (local.set $c01 (v128.const i64x2 0 0))
            (local.set $c10 (v128.const i64x2 0 0))
            (local.set $c11 (v128.const i64x2 0 0))
            (local.set $c20 (v128.const i64x2 0 0))
            (local.set $c21 (v128.const i64x2 0 0))
            (local.set $c30 (v128.const i64x2 0 0))
            (local.set $c31 (v128.const i64x2 0 0))
            (local.set $pa0 (local.get $a0))
            (local.set $pa1 (local.get $a1))
            (local.set $pa2 (local.get $a2))
            (local.set $pa3 (local.get $a3))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $p (local.get $k))
            (block $kDone
              (br_if $kDone (i32.eqz (local.get $p)))
              (loop $kLoop
                (local.set $y0 (v128.load (local.get $pb)))
                (local.set $y1 (v128.load offset=16 (local.get $pb)))
                (local.set $x (v128.load64_splat (local.get $pa0)))
                (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $x) (local.get $y0))))
                (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $x) (local.get $y1))))
                (local.set $x (v128.load64_splat (local.get $pa1)))
                (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $x) (local.get $y0))))
                (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $x) (local.get $y1))))
                (local.set $x (v128.load64_splat (local.get $pa2)))
                (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $x) (local.get $y0))))
                (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $x) (local.get $y1))))
                (local.set $x (v128.load64_splat (local.get $pa3)))
                (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $x) (local.get $y0))))
                (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $x) (local.get $y1))))
                (local.set $pa0 (i32.add (local.get $pa0) (local.get $csA)))
                (local.set $pa1 (i32.add (local.get $pa1) (local.get $csA)))
                (local.set $pa2 (i32.add (local.get $pa2) (local.get $csA)))
                (local.set $pa3 (i32.add (local.get $pa3) (local.get $csA)))
                (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
                (br_if $kLoop (local.tee $p (i32.sub (local.get $p) (i32.const 1))))))
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))
            (v128.store (local.get $pc) (local.get $c00))
            (v128.store offset=16 (local.get $pc) (local.get $c01))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (v128.store (local.get $pc) (local.get $c10))
            (v128.store offset=16 (local.get $pc) (local.get $c11))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (v128.store (local.get $pc) (local.get $c20))
            (v128.store offset=16 (local.get $pc) (local.get $c21))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (v128.store (local.get $pc) (local.get $c30))
            (v128.store offset=16 (local.get $pc) (local.get $c31))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        ;; Pairs of columns (the last maybe one past n): one accumulator a row.
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $c00 (v128.const i64x2 0 0))
            (local.set $c10 (v128.const i64x2 0 0))
            (local.set $c20 (v128.const i64x2 0 0))
            (local.set $c30 (v128.const i64x2 0 0))
            (local.set $pa0 (local.get $a0))
            (local.set $pa1 (local.get $a1))
            (local.set $pa2 (local.get $a2))
            (local.set $pa3 (local.get $a3))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $p (local.get $k))
            (block $kDone2
              (br_if $kDone2 (i32.eqz (local.get $p)))
              (loop $kLoop2
                (local.set $y0 (v128.load (local.get $pb)))
                (local.set $c00 (f64x2.add (local.get $c00)
                  (f64x2.mul (v128.load64_splat (local.get $pa0)) (local.get $y0))))
                (local.set $c10 (f64x2.add (local.get $c10)
                  (f64x2.mul (v128.load64_splat (local.get $pa1)) (local.get $y0))))
                (local.set $c20 (f64x2.add (local.get $c20)
                  (f64x2.mul (v128.load64_splat (local.get $pa2)) (local.get $y0))))
                (local.set $c30 (f64x2.add (local.get $c30)
                  (f64x2.mul (v128.load64_splat (local.get $pa3)) (local.get $y0))))
                (local.set $pa0 (i32.add (local.get $pa0) (local.get $csA)))
                (local.set $pa1 (i32.add (local.get $pa1) (local.get $csA)))
                (local.set $pa2 (i32.add (local.get $pa2) (local.get $csA)))
                (local.set $pa3 (i32.add (local.get $pa3) (local.get $csA)))
                (local.set $pb (i32.add (local.get $pb) (local.get $rowB)))
                (br_if $kLoop2 (local.tee $p (i32.sub (local.get $p) (i32.const 1))))))
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))))
            (call $store2 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c00))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (call $store2 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c10))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (call $store2 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c20))
            (local.set $pc (i32.add (local.get $pc) (local.get $rowC)))
            (call $store2 (local.get $pc) (i32.sub (local.get $n) (local.get $j)) (local.get $c30))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $pairs)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; Stores both lanes of v (float64) at byte offset at, or lane 0 alone when left is 1.
  (func $store2 (param $at i32) (param $left i32) (param $v v128)
    (if (i32.ge_u (local.get $left) (i32.const 2))
      (then (v128.store (local.get $at) (local.get $v)))
      (else (v128.store64_lane 0 (local.get $at) (local.get $v)))))

  ;; transpose64: transpose32 for float64 values, two a load.
  (func (export "transpose64") (param $src i32) (param $dst i32) (param $k i32) (param $n i32)
    (local $j i32) (local $p i32) (local $at i32) (local $to i32) (local $v v128) (local $row i32)
    (local.set $row (i32.shl (local.get $n) (i32.const 3)))
    (block $colsDone
      (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $at (i32.add (local.get $src)
          (i32.shl (i32.mul (local.get $j) (local.get $k)) (i32.const 3))))
        (local.set $to (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $p (i32.const 0))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $p) (i32.const 2)) (local.get $k)))
            (local.set $v (v128.load (local.get $at)))
            (v128.store64_lane 0 (local.get $to) (local.get $v))
            (v128.store64_lane 1 (i32.add (local.get $to) (local.get $row)) (local.get $v))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (local.set $to (i32.add (local.get $to) (i32.shl (local.get $row) (i32.const 1))))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $vl)))
        (if (i32.lt_u (local.get $p) (local.get $k))
          (then (f64.store (local.get $to) (f64.load (local.get $at)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cols))))

  ;; dst[i] = tanh(src[i]) for 4·quads float32 values (byte offsets; the caller pads to fours),
  ;; in double precision, two pairs of lanes at a time, rounded once to float32: x capped at ±9
  ;; (tanh rounds to ±1 beyond), then tanh x ≈ x·P(x²)/Q(x²), P and Q of degree 4 with
  ;; P(0) = Q(0) = 1 (a rational fit, relative error below 2.2e-8 on [0, 9]), each by Estrin's
  ;; scheme: P = (1 + p1·t) + t²·(p2 + p3·t) + t⁴·p4. Within one unit in the last place of tanh
  ;; (tests/bench/tanh_ulp.ts checks every float32); fastmath.ts's tanh32 takes the same steps
  ;; in JavaScript and gives the same bits. ±0 stays ±0 and NaN stays NaN. The constants live in
  ;; locals, set once: a v128.const in the loop is rebuilt every time.
  (func $tanh (export "tanh") (param $src i32) (param $dst i32) (param $quads i32)
    (local $v v128) (local $x v128) (local $t v128) (local $t2 v128) (local $t4 v128) (local $p v128)
    (local $q v128) (local $y v128) (local $low v128)
    (local $nine v128) (local $mnine v128) (local $one v128) (local $p1 v128) (local $p2 v128)
    (local $p3 v128) (local $p4 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $q4 v128)
    (local.set $nine (f32x4.splat (f32.const 9)))
    (local.set $mnine (f32x4.splat (f32.const -9)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $p1 (f64x2.splat (f64.const 0.1338399421552475)))
    (local.set $p2 (f64x2.splat (f64.const 0.003499012434287005)))
    (local.set $p3 (f64x2.splat (f64.const 2.0661521951750874e-05)))
    (local.set $p4 (f64x2.splat (f64.const 1.34201620280959e-08)))
    (local.set $q1 (f64x2.splat (f64.const 0.46717315701399)))
    (local.set $q2 (f64x2.splat (f64.const 0.025890269158999713)))
    (local.set $q3 (f64x2.splat (f64.const 0.0003291064715742958)))
    (local.set $q4 (f64x2.splat (f64.const 7.804872643588827e-07)))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $quad
        ;; x capped at ±9 while still float32: the same values as capping the doubles.
        (local.set $v (f32x4.pmax (f32x4.pmin (v128.load (local.get $src)) (local.get $nine))
          (local.get $mnine)))
        (local.set $x (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $t (f64x2.mul (local.get $x) (local.get $x)))
        (local.set $t2 (f64x2.mul (local.get $t) (local.get $t)))
        (local.set $t4 (f64x2.mul (local.get $t2) (local.get $t2)))
        (local.set $p (f64x2.add
          (f64x2.add (f64x2.add (local.get $one) (f64x2.mul (local.get $t) (local.get $p1)))
            (f64x2.mul (local.get $t2) (f64x2.add (local.get $p2) (f64x2.mul (local.get $t) (local.get $p3)))))
          (f64x2.mul (local.get $t4) (local.get $p4))))
        (local.set $q (f64x2.add
          (f64x2.add (f64x2.add (local.get $one) (f64x2.mul (local.get $t) (local.get $q1)))
            (f64x2.mul (local.get $t2) (f64x2.add (local.get $q2) (f64x2.mul (local.get $t) (local.get $q3)))))
          (f64x2.mul (local.get $t4) (local.get $q4))))
        (local.set $y (f64x2.div (f64x2.mul (local.get $x) (local.get $p)) (local.get $q)))
        (local.set $low (f32x4.demote_f64x2_zero (local.get $y)))
        (local.set $x (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
        (local.set $t (f64x2.mul (local.get $x) (local.get $x)))
        (local.set $t2 (f64x2.mul (local.get $t) (local.get $t)))
        (local.set $t4 (f64x2.mul (local.get $t2) (local.get $t2)))
        (local.set $p (f64x2.add
          (f64x2.add (f64x2.add (local.get $one) (f64x2.mul (local.get $t) (local.get $p1)))
            (f64x2.mul (local.get $t2) (f64x2.add (local.get $p2) (f64x2.mul (local.get $t) (local.get $p3)))))
          (f64x2.mul (local.get $t4) (local.get $p4))))
        (local.set $q (f64x2.add
          (f64x2.add (f64x2.add (local.get $one) (f64x2.mul (local.get $t) (local.get $q1)))
            (f64x2.mul (local.get $t2) (f64x2.add (local.get $q2) (f64x2.mul (local.get $t) (local.get $q3)))))
          (f64x2.mul (local.get $t4) (local.get $q4))))
        (local.set $y (f64x2.div (f64x2.mul (local.get $x) (local.get $p)) (local.get $q)))
        (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (local.get $low) (f32x4.demote_f64x2_zero (local.get $y))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br_if $quad (local.tee $quads (i32.sub (local.get $quads) (i32.const 1)))))))

  ;; Elementwise: o[r][j] = x[r][j] OP y[r·ystep + j·ycol] for r < rows, j < width, float32, each
  ;; result rounded once, as JavaScript's double arithmetic rounded to float32 gives it. With
  ;; ycol 1 and ystep 0 y is a row reused for every row (rows 1: same shapes); with ycol 0 it
  ;; is one value per row (ystep 1) or one for all (ystep 0). OP: 0 add, 1 sub, 2 mul, 3 div,
  ;; 4 y − x, 5 y / x. Byte offsets x, y, o.
  (func (export "ew")
    (param $op i32) (param $x i32) (param $y i32) (param $o i32)
    (param $rows i32) (param $width i32) (param $ystep i32) (param $ycol i32)
    (local $r i32) (local $j i32) (local $px i32) (local $py i32) (local $po i32)
    (local $s f32) (local $sv v128)
    (local.set $px (local.get $x))
    (local.set $po (local.get $o))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (local.set $py (i32.add (local.get $y)
          (i32.shl (i32.mul (local.get $r) (local.get $ystep)) (i32.const 2))))
        (local.set $s (f32.load (local.get $py)))
        (local.set $sv (f32x4.splat (local.get $s)))
        (if (local.get $ycol)
          (then
            (if (i32.eq (local.get $op) (i32.const 0))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.add (v128.load (local.get $px)) (v128.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.add (f32.load (local.get $px)) (f32.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 1))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.sub (v128.load (local.get $px)) (v128.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.sub (f32.load (local.get $px)) (f32.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 2))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.mul (v128.load (local.get $px)) (v128.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.mul (f32.load (local.get $px)) (f32.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 3))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.div (v128.load (local.get $px)) (v128.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.div (f32.load (local.get $px)) (f32.load (local.get $py))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 4))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.sub (v128.load (local.get $py)) (v128.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.sub (f32.load (local.get $py)) (f32.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 5))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.div (v128.load (local.get $py)) (v128.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $py (i32.add (local.get $py) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.div (f32.load (local.get $py)) (f32.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $py (i32.add (local.get $py) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))))
        (if (i32.eqz (local.get $ycol))
          (then
            (if (i32.eq (local.get $op) (i32.const 0))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.add (v128.load (local.get $px)) (local.get $sv)))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.add (f32.load (local.get $px)) (local.get $s)))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 1))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.sub (v128.load (local.get $px)) (local.get $sv)))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.sub (f32.load (local.get $px)) (local.get $s)))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 2))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.mul (v128.load (local.get $px)) (local.get $sv)))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.mul (f32.load (local.get $px)) (local.get $s)))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 3))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.div (v128.load (local.get $px)) (local.get $sv)))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.div (f32.load (local.get $px)) (local.get $s)))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 4))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.sub (local.get $sv) (v128.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.sub (local.get $s) (f32.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))
            (if (i32.eq (local.get $op) (i32.const 5))
              (then
                (block $vd
                  (loop $vl
                    (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
                    (v128.store (local.get $po) (f32x4.div (local.get $sv) (v128.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 16)))
                    (local.set $po (i32.add (local.get $po) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $vl)))
                (block $sd
                  (loop $sl
                    (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
                    (f32.store (local.get $po) (f32.div (local.get $s) (f32.load (local.get $px))))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $po (i32.add (local.get $po) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $sl)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; Unary, float32 in and out: OP 0 −x, 1 x², 2 1/x (rounded once each, as in float32), and
  ;; 3 1 − x² computed in double and rounded once (as JavaScript computes it). Byte offsets.
  (func (export "unary") (param $op i32) (param $x i32) (param $o i32) (param $n i32)
    (local $i i32) (local $v v128) (local $f f32)
    (if (i32.eq (local.get $op) (i32.const 0))
      (then
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
            (local.set $v (v128.load (local.get $x)))
            (v128.store (local.get $o) (f32x4.neg (local.get $v)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $f (f32.load (local.get $x)))
            (f32.store (local.get $o) (f32.neg (local.get $f)))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $sl)))))
    (if (i32.eq (local.get $op) (i32.const 1))
      (then
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
            (local.set $v (v128.load (local.get $x)))
            (v128.store (local.get $o) (f32x4.mul (local.get $v) (local.get $v)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $f (f32.load (local.get $x)))
            (f32.store (local.get $o) (f32.mul (local.get $f) (local.get $f)))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $sl)))))
    (if (i32.eq (local.get $op) (i32.const 2))
      (then
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
            (local.set $v (v128.load (local.get $x)))
            (v128.store (local.get $o) (f32x4.div (v128.const f32x4 1 1 1 1) (local.get $v)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $f (f32.load (local.get $x)))
            (f32.store (local.get $o) (f32.div (f32.const 1) (local.get $f)))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $sl)))))
    (if (i32.eq (local.get $op) (i32.const 3))
      (then
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
            (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))))
            (v128.store64_lane 0 (local.get $o) (f32x4.demote_f64x2_zero
              (f64x2.sub (v128.const f64x2 1 1) (f64x2.mul (local.get $v) (local.get $v)))))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $vl)))
        (if (i32.lt_u (local.get $i) (local.get $n))
          (then
            (local.set $f (f32.load (local.get $x)))
            (f32.store (local.get $o) (f32.demote_f64 (f64.sub (f64.const 1)
              (f64.mul (f64.promote_f32 (local.get $f)) (f64.promote_f32 (local.get $f)))))))))))

  ;; SGD in place: p[i] = p[i] − lr·g[i] for n float32 values (byte offsets p, g), in float32 as
  ;; PyTorch's `p.data += -lr * p.grad` rounds it: the product rounded, then the difference (lr
  ;; a float32). Eight values per iteration, then four, then one at a time.
  (func (export "sgd") (param $p i32) (param $g i32) (param $lr f32) (param $n i32)
    (local $end i32) (local $r v128)
    (local.set $r (f32x4.splat (local.get $lr)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $vd
      (loop $vl
        (br_if $vd (i32.gt_u (i32.add (local.get $p) (i32.const 32)) (local.get $end)))
        (v128.store offset=0 (local.get $p) (f32x4.sub (v128.load offset=0 (local.get $p))
          (f32x4.mul (local.get $r) (v128.load offset=0 (local.get $g)))))
        (v128.store offset=16 (local.get $p) (f32x4.sub (v128.load offset=16 (local.get $p))
          (f32x4.mul (local.get $r) (v128.load offset=16 (local.get $g)))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $g (i32.add (local.get $g) (i32.const 32)))
        (br $vl)))
    (if (i32.le_u (i32.add (local.get $p) (i32.const 16)) (local.get $end))
      (then
        (v128.store (local.get $p) (f32x4.sub (v128.load (local.get $p))
          (f32x4.mul (local.get $r) (v128.load (local.get $g)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))))
    (block $sd
      (loop $sl
        (br_if $sd (i32.ge_u (local.get $p) (local.get $end)))
        (f32.store (local.get $p) (f32.sub (f32.load (local.get $p))
          (f32.mul (local.get $lr) (f32.load (local.get $g)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (br $sl))))

  ;; AdamW's update in place, for n float32 values (byte offsets p, g, m, v), rounded as
  ;; torch.optim.AdamW's float32 ops round (optim.ts's JavaScript loop, the same bits):
  ;;   p ← f32(p·dec); m ← f32(f32(m·β1) + (1 − β1)·g) (the sum in double, as the fused
  ;;   multiply-add of add_(g, alpha)); v ← f32(f32(v·β2) + f32((1 − β2)·g)·g) (likewise);
  ;;   p ← f32(p + f32(f32(step·m) / f32(f32(√v / bc2) + eps))), step = −lr/(1 − β1ᵗ).
  ;; Four values per iteration (the sums in double two lanes at a time), then one at a time.
  (func (export "adamw") (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $n i32) (param $dec f32) (param $b1 f32) (param $a1 f32) (param $b2 f32)
    (param $a2 f32) (param $bc2 f32) (param $e f32) (param $step f32)
    (local $end i32) (local $gi v128) (local $mi v128) (local $vi v128) (local $t v128)
    (local $a1d v128) (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $a1d (f64x2.splat (f64.promote_f32 (local.get $a1))))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $vd
      (loop $vl
        (br_if $vd (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
        (local.set $gi (v128.load (local.get $g)))
        ;; m: the float32 product, then the sum with (1 − β1)·g in double, rounded once.
        (local.set $t (f32x4.mul (v128.load (local.get $m)) (f32x4.splat (local.get $b1))))
        (local.set $mi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (local.get $t))
            (f64x2.mul (local.get $a1d) (f64x2.promote_low_f32x4 (local.get $gi)))))
          (f32x4.demote_f64x2_zero (f64x2.add
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
              (local.get $t) (local.get $t)))
            (f64x2.mul (local.get $a1d) (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
                (local.get $gi) (local.get $gi))))))))
        (v128.store (local.get $m) (local.get $mi))
        ;; v: f32(v·β2) + f32((1 − β2)·g)·g, the product and sum in double, rounded once.
        (local.set $vi (f32x4.mul (f32x4.splat (local.get $a2)) (local.get $gi)))
        (local.set $t (f32x4.mul (v128.load (local.get $v)) (f32x4.splat (local.get $b2))))
        (local.set $vi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (local.get $t))
            (f64x2.mul (f64x2.promote_low_f32x4 (local.get $vi))
              (f64x2.promote_low_f32x4 (local.get $gi)))))
          (f32x4.demote_f64x2_zero (f64x2.add
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
              (local.get $t) (local.get $t)))
            (f64x2.mul
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
                (local.get $vi) (local.get $vi)))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
                (local.get $gi) (local.get $gi))))))))
        (v128.store (local.get $v) (local.get $vi))
        (v128.store (local.get $p) (f32x4.add
          (f32x4.mul (v128.load (local.get $p)) (f32x4.splat (local.get $dec)))
          (f32x4.div (f32x4.mul (f32x4.splat (local.get $step)) (local.get $mi))
            (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vi)) (f32x4.splat (local.get $bc2)))
              (f32x4.splat (local.get $e))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (br $vl)))
    (block $sd
      (loop $sl
        (br_if $sd (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $gs (f32.load (local.get $g)))
        (local.set $ms (f32.demote_f64 (f64.add
          (f64.promote_f32 (f32.mul (f32.load (local.get $m)) (local.get $b1)))
          (f64.mul (f64.promote_f32 (local.get $a1)) (f64.promote_f32 (local.get $gs))))))
        (f32.store (local.get $m) (local.get $ms))
        (local.set $vs (f32.demote_f64 (f64.add
          (f64.promote_f32 (f32.mul (f32.load (local.get $v)) (local.get $b2)))
          (f64.mul (f64.promote_f32 (f32.mul (local.get $a2) (local.get $gs)))
            (f64.promote_f32 (local.get $gs))))))
        (f32.store (local.get $v) (local.get $vs))
        (f32.store (local.get $p) (f32.add
          (f32.mul (f32.load (local.get $p)) (local.get $dec))
          (f32.div (f32.mul (local.get $step) (local.get $ms))
            (f32.add (f32.div (f32.sqrt (local.get $vs)) (local.get $bc2)) (local.get $e)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $m (i32.add (local.get $m) (i32.const 4)))
        (local.set $v (i32.add (local.get $v) (i32.const 4)))
        (br $sl))))

  ;; o[r·width + j] = src[r]·scale for j < width, r < rows (float32; the product in double,
  ;; rounded once, as reduce.ts's expand stores it): sum's and mean's rule over the last axis,
  ;; each row one value splat across it. Byte offsets src and o.
  (func (export "fill_rows") (param $src i32) (param $o i32) (param $rows i32) (param $width i32)
    (param $scale f64)
    (local $j i32) (local $end4 i32) (local $w i32) (local $v f32) (local $vv v128)
    (local.set $end4 (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (local.set $w (i32.shl (local.get $width) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (loop $row
        (local.set $v (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $src)))
          (local.get $scale))))
        (local.set $vv (f32x4.splat (local.get $v)))
        (local.set $j (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_u (local.get $j) (local.get $end4)))
            (v128.store (i32.add (local.get $o) (local.get $j)) (local.get $vv))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $w)))
            (f32.store (i32.add (local.get $o) (local.get $j)) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (local.get $w)))
        (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))))

  ;; masked_fill where the mask repeats: o[i] = value where m[i mod w] ≠ 0, else x[i], for
  ;; `blocks` blocks of w float32 values (byte offsets x, m, o; the mask float32, or int32 when
  ;; `int`): a lane select, no branch (a causal mask's pattern defeats a branch predictor).
  ;; Float32 ≠ 0 as JavaScript's !== 0 (−0 is 0, NaN is not).
  (func (export "masked_fill") (param $x i32) (param $m i32) (param $o i32) (param $blocks i32)
    (param $w i32) (param $int i32) (param $value f32)
    (local $j i32) (local $end4 i32) (local $v v128) (local $sel v128) (local $mv v128)
    (local.set $v (f32x4.splat (local.get $value)))
    (local.set $end4 (i32.shl (i32.and (local.get $w) (i32.const -4)) (i32.const 2)))
    (local.set $w (i32.shl (local.get $w) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $blocks)))
      (loop $block
        (local.set $j (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_u (local.get $j) (local.get $end4)))
            (local.set $mv (v128.load (i32.add (local.get $m) (local.get $j))))
            (local.set $sel (if (result v128) (local.get $int)
              (then (i32x4.ne (local.get $mv) (v128.const i32x4 0 0 0 0)))
              (else (f32x4.ne (local.get $mv) (v128.const i32x4 0 0 0 0)))))
            (v128.store (i32.add (local.get $o) (local.get $j)) (v128.bitselect (local.get $v)
              (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $sel)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $w)))
            (f32.store (i32.add (local.get $o) (local.get $j))
              (select (local.get $value) (f32.load (i32.add (local.get $x) (local.get $j)))
                (if (result i32) (local.get $int)
                  (then (i32.ne (i32.load (i32.add (local.get $m) (local.get $j))) (i32.const 0)))
                  (else (f32.ne (f32.load (i32.add (local.get $m) (local.get $j))) (f32.const 0))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $x (i32.add (local.get $x) (local.get $w)))
        (local.set $o (i32.add (local.get $o) (local.get $w)))
        (br_if $block (local.tee $blocks (i32.sub (local.get $blocks) (i32.const 1)))))))

  ;; Two axes swapped, float32, x seen as (pre, ni, mid, nj, post) into (pre, nj, mid, ni, post)
  ;; (byte offsets, source and destination apart; post a multiple of four): for each p, y, m in
  ;; order, the ni runs of post values xStride apart in x, one after the other in the output, as
  ;; layout.ts's swapF32 walks them run by run. Sixteen bytes at a time.
  (func (export "swap_axes") (param $s i32) (param $o i32) (param $pre i32) (param $ni i32)
    (param $mid i32) (param $nj i32) (param $post i32)
    (local $pb i32) (local $row i32) (local $xs i32) (local $block i32) (local $p i32) (local $y i32)
    (local $m i32) (local $x i32) (local $from i32) (local $b i32)
    (local.set $pb (i32.shl (local.get $post) (i32.const 2)))
    (local.set $row (i32.mul (local.get $nj) (local.get $pb)))
    (local.set $xs (i32.mul (local.get $mid) (local.get $row)))
    (local.set $block (i32.mul (local.get $ni) (local.get $xs)))
    (br_if 0 (i32.or (i32.or (i32.eqz (local.get $pre)) (i32.eqz (local.get $ni)))
      (i32.or (i32.or (i32.eqz (local.get $mid)) (i32.eqz (local.get $nj)))
        (i32.eqz (local.get $post)))))
    (loop $ps
      (local.set $y (i32.const 0))
      (loop $ys
        (local.set $m (i32.const 0))
        (loop $ms
          (local.set $from (i32.add (i32.add (local.get $s)
            (i32.mul (local.get $p) (local.get $block)))
            (i32.add (i32.mul (local.get $m) (local.get $row))
              (i32.mul (local.get $y) (local.get $pb)))))
          (local.set $x (local.get $ni))
          (loop $xs_
            (local.set $b (i32.const 0))
            (loop $copy
              (v128.store (i32.add (local.get $o) (local.get $b))
                (v128.load (i32.add (local.get $from) (local.get $b))))
              (br_if $copy (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 16)))
                (local.get $pb))))
            (local.set $o (i32.add (local.get $o) (local.get $pb)))
            (local.set $from (i32.add (local.get $from) (local.get $xs)))
            (br_if $xs_ (local.tee $x (i32.sub (local.get $x) (i32.const 1)))))
          (br_if $ms (i32.lt_u (local.tee $m (i32.add (local.get $m) (i32.const 1)))
            (local.get $mid))))
        (br_if $ys (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1)))
          (local.get $nj))))
      (br_if $ps (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1)))
        (local.get $pre)))))

  ;; `rows` runs of `bytes` bytes (a multiple of 4), run r from src + r·sstride to
  ;; dst + r·dstride (byte offsets and strides; source and destination apart): the row moves of
  ;; slice and concat (layout.ts). Sixteen bytes at a time, then four.
  (func (export "copy_rows") (param $src i32) (param $sstride i32) (param $dst i32)
    (param $dstride i32) (param $rows i32) (param $bytes i32)
    (local $s i32) (local $d i32) (local $end i32) (local $end16 i32)
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (loop $row
        (local.set $s (local.get $src))
        (local.set $d (local.get $dst))
        (local.set $end (i32.add (local.get $dst) (local.get $bytes)))
        (local.set $end16 (i32.sub (local.get $end) (i32.const 16)))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_s (local.get $d) (local.get $end16)))
            (v128.store (local.get $d) (v128.load (local.get $s)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $d) (local.get $end)))
            (i32.store (local.get $d) (i32.load (local.get $s)))
            (local.set $d (i32.add (local.get $d) (i32.const 4)))
            (local.set $s (i32.add (local.get $s) (i32.const 4)))
            (br $sl)))
        (local.set $src (i32.add (local.get $src) (local.get $sstride)))
        (local.set $dst (i32.add (local.get $dst) (local.get $dstride)))
        (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))))

  ;; o[j] = Σ over r of x[r][j], for j < width: float32 sums over the rows in order, as the
  ;; JavaScript kernels add them (starting from 0). Byte offsets x, o. Sixteen columns at a time
  ;; (four chains of additions that do not wait on each other), then four, then one.
  (func (export "colsum") (param $x i32) (param $o i32) (param $rows i32) (param $width i32)
    (local $r i32) (local $j i32) (local $p i32) (local $a f32) (local $row i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $row (i32.shl (local.get $width) (i32.const 2)))
    (block $gd
      (loop $gl
        (br_if $gd (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $width)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (local.get $rows))
        (block $rd
          (br_if $rd (i32.eqz (local.get $r)))
          (loop $rl
            (local.set $a0 (f32x4.add (local.get $a0) (v128.load offset=0 (local.get $p))))
            (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
            (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
            (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $row)))
            (br_if $rl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $p (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2))))
        (v128.store offset=0 (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $a1))
        (v128.store offset=32 (local.get $p) (local.get $a2))
        (v128.store offset=48 (local.get $p) (local.get $a3))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $gl)))
    (block $vd
      (loop $vl
        (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (local.get $rows))
        (block $rd
          (br_if $rd (i32.eqz (local.get $r)))
          (loop $rl
            (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $row)))
            (br_if $rl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (v128.store (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2))) (local.get $a0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $vl)))
    (block $sd
      (loop $sl
        (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
        (local.set $a (f32.const 0))
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rd
          (loop $rl
            (br_if $rd (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $a (f32.add (local.get $a) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $row)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rl)))
        (f32.store (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2))) (local.get $a))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $sl))))

  ;; o[r] = Σ of row r's width float32 values (width ≥ 16), in sixteen partial sums: value k of a
  ;; row goes to partial k mod 16 (four lanes of four accumulators, each summed in order in
  ;; float32), the partials are added pairwise, (s[j] + s[4+j]) + (s[8+j] + s[12+j]) for each lane
  ;; j, then (v0 + v1) + (v2 + v3), and the last width mod 16 values follow in order. One chain
  ;; of dependent additions per row is what held a long sum back; sixteen run side by side.
  ;; reduce.ts's rowSums32 takes the same steps in JavaScript.
  (func (export "rowsum") (param $x i32) (param $o i32) (param $rows i32) (param $width i32)
    (local $p i32) (local $end i32) (local $last i32) (local $s f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.eqz (local.get $rows)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $x))
        (local.set $end (i32.add (local.get $x)
          (i32.shl (i32.and (local.get $width) (i32.const -16)) (i32.const 2))))
        (local.set $last (i32.add (local.get $x) (i32.shl (local.get $width) (i32.const 2))))
        (loop $block
          (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $p))))
          (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
          (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
          (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
          (br_if $block (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 64)))
            (local.get $end))))
        (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
          (f32x4.add (local.get $a2) (local.get $a3))))
        (local.set $s (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
          (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $p) (local.get $last)))
            (local.set $s (f32.add (local.get $s) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $tail)))
        (f32.store (local.get $o) (local.get $s))
        (local.set $x (local.get $last))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; o[r] = Σ of row r's `width` values in order from 0, in float32 (rows shorter than rowsum's
  ;; long ones, as reduce.ts's rowSums32 adds them): four rows at a time, one in each lane, a
  ;; quad of each row's values transposed into four sums (k, k+1, k+2, k+3 in order), then the
  ;; row's last width mod 4 values; the rows left over one by one. Byte offsets x and o.
  (func (export "rowsum_short") (param $x i32) (param $o i32) (param $rows i32) (param $width i32)
    (local $rb i32) (local $end4 i32) (local $k i32) (local $p i32) (local $s f32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $a v128)
    (local $b v128) (local $c v128) (local $d v128) (local $acc v128) (local $t v128)
    (local.set $rb (i32.shl (local.get $width) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.lt_u (local.get $rows) (i32.const 4)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_u (local.get $k) (local.get $end4)))
            (local.set $p (i32.add (local.get $x) (local.get $k)))
            (local.set $v0 (v128.load (local.get $p)))
            (local.set $v1 (v128.load (i32.add (local.get $p) (local.get $rb))))
            (local.set $v2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $rb) (i32.const 1)))))
            (local.set $v3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $rb) (i32.const 3)))))
            (local.set $a (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
            (local.set $b (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
            (local.set $c (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
            (local.set $d (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
            (local.set $acc (f32x4.add (local.get $acc) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $c))))
            (local.set $acc (f32x4.add (local.get $acc) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $c))))
            (local.set $acc (f32x4.add (local.get $acc) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $b) (local.get $d))))
            (local.set $acc (f32x4.add (local.get $acc) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $b) (local.get $d))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $k) (local.get $rb)))
            (local.set $p (i32.add (local.get $x) (local.get $k)))
            (local.set $t (f32x4.splat (f32.load (local.get $p))))
            (local.set $t (f32x4.replace_lane 1 (local.get $t)
              (f32.load (i32.add (local.get $p) (local.get $rb)))))
            (local.set $t (f32x4.replace_lane 2 (local.get $t)
              (f32.load (i32.add (local.get $p) (i32.shl (local.get $rb) (i32.const 1))))))
            (local.set $t (f32x4.replace_lane 3 (local.get $t)
              (f32.load (i32.add (local.get $p) (i32.mul (local.get $rb) (i32.const 3))))))
            (local.set $acc (f32x4.add (local.get $acc) (local.get $t)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $tail)))
        (v128.store (local.get $o) (local.get $acc))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $rb) (i32.const 2))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 4)))
        (br $blocks)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.eqz (local.get $rows)))
        (local.set $s (f32.const 0))
        (local.set $k (i32.const 0))
        (block $sumDone
          (loop $sum
            (br_if $sumDone (i32.ge_u (local.get $k) (local.get $rb)))
            (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $x) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $sum)))
        (f32.store (local.get $o) (local.get $s))
        (local.set $x (i32.add (local.get $x) (local.get $rb)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; dst[i] = exp(src[i]) for 2·pairs float32 values (byte offsets; the caller pads to pairs), in
  ;; double precision two lanes at a time: x = k·ln 2 + r with |r| ≤ ln2/2, eˣ = 2ᵏ + 2ᵏ·(eʳ − 1)
  ;; with eʳ − 1 by its series to r¹¹ (error below 1e-14), rounded once to float32. x is first
  ;; clamped to [−150, 100], beyond which float32 holds 0 and ∞ alike; NaN stays NaN.
  (func $exp (export "exp") (param $src i32) (param $dst i32) (param $pairs i32)
    (local $hi100 v128) (local $lo150 v128) (local $invln2 v128) (local $ln2hi v128) (local $ln2lo
    v128) (local $one v128) (local $magic v128) (local $c2 v128) (local $c3 v128) (local $c4 v128)
    (local $c5 v128) (local $c6 v128) (local $c7 v128) (local $c8 v128) (local $c9 v128) (local
    $c10 v128) (local $c11 v128) (local $x v128) (local $y v128) (local $t v128) (local $k v128)
    (local $r v128) (local $r2 v128) (local $r4 v128) (local $q v128) (local $s v128) (local $bias
    v128)
    (local.set $hi100 (v128.const f64x2 100 100))
    (local.set $lo150 (v128.const f64x2 -150 -150))
    (local.set $invln2 (v128.const f64x2 1.4426950408889634 1.4426950408889634))
    (local.set $ln2hi (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01))
    (local.set $ln2lo (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
    (local.set $one (v128.const f64x2 1 1))
    (local.set $magic (v128.const f64x2 6755399441055744 6755399441055744))
    (local.set $c2 (v128.const f64x2 0.5 0.5))
    (local.set $c3 (v128.const f64x2 0.16666666666666666 0.16666666666666666))
    (local.set $c4 (v128.const f64x2 0.041666666666666664 0.041666666666666664))
    (local.set $c5 (v128.const f64x2 0.008333333333333333 0.008333333333333333))
    (local.set $c6 (v128.const f64x2 0.001388888888888889 0.001388888888888889))
    (local.set $c7 (v128.const f64x2 0.0001984126984126984 0.0001984126984126984))
    (local.set $c8 (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05))
    (local.set $c9 (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06))
    (local.set $c10 (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07))
    (local.set $c11 (v128.const f64x2 2.505210838544172e-08 2.505210838544172e-08))
    (local.set $bias (v128.const i64x2 1023 1023))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $pair
        (local.set $x (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))))
        (local.set $y (f64x2.pmax (f64x2.pmin (local.get $x) (local.get $hi100)) (local.get $lo150)))
        (local.set $t (f64x2.add (f64x2.mul (local.get $y) (local.get $invln2)) (local.get $magic)))
        (local.set $k (f64x2.sub (local.get $t) (local.get $magic)))
        (local.set $r (f64x2.sub
          (f64x2.sub (local.get $y) (f64x2.mul (local.get $k) (local.get $ln2hi)))
          (f64x2.mul (local.get $k) (local.get $ln2lo))))
        (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
        (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
        (local.set $q (f64x2.mul (local.get $r)
          (f64x2.add (f64x2.add (f64x2.add (local.get $one) (f64x2.mul (local.get $r) (local.get $c2)))
            (f64x2.mul (local.get $r2) (f64x2.add (local.get $c3) (f64x2.mul (local.get $r) (local.get $c4)))))
            (f64x2.mul (local.get $r4) (f64x2.add (f64x2.add (f64x2.add (local.get $c5) (f64x2.mul (local.get $r) (local.get $c6)))
            (f64x2.mul (local.get $r2) (f64x2.add (local.get $c7) (f64x2.mul (local.get $r) (local.get $c8)))))
              (f64x2.mul (local.get $r4) (f64x2.add (f64x2.add (local.get $c9) (f64x2.mul (local.get $r) (local.get $c10)))
            (f64x2.mul (local.get $r2) (local.get $c11)))))))))
        (local.set $s (i64x2.shl (i64x2.add (local.get $t) (local.get $bias)) (i32.const 52)))
        (v128.store64_lane 0 (local.get $dst) (f32x4.demote_f64x2_zero
          (f64x2.add (local.get $s) (f64x2.mul (local.get $s) (local.get $q)))))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br_if $pair (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; dst[i] = gelu(src[i]) = x·Φ(x), the exact form, for 2·pairs float32 values (byte offsets;
  ;; the caller pads to pairs) in double, rounded once to float32. Φ(x) = erfc(|x|/√2)/2 for
  ;; x < 0, 1 − that for x ≥ 0, erfc z = t·e^(−z² − 1.26551223 + t·P(t)), t = 1/(1 + z/2)
  ;; (Numerical Recipes' erfcc, relative error below 1.2e-7; P by Estrin's scheme, four short
  ;; chains rather than Horner's long one), the exponent clamped at −708; e^a as $exp computes it
  ;; (2ᵏ times 1 + the series of eʳ − 1 to r¹¹). The constants live in locals, set once.
  ;; activation.ts's phi32 and expSeries take the same steps and give the same doubles.
  (func (export "gelu") (param $src i32) (param $dst i32) (param $pairs i32)
    (local $k_log2e v128) (local $k_magic v128) (local $k_ln2hi v128) (local $k_ln2lo v128) (local $k_one v128) (local $k_half v128)
    (local $k_c3 v128) (local $k_c4 v128) (local $k_c5 v128) (local $k_c6 v128) (local $k_c7 v128) (local $k_c8 v128)
    (local $k_c9 v128) (local $k_c10 v128) (local $k_c11 v128) (local $k_min v128) (local $k_sqrt1_2 v128) (local $k_e0 v128)
    (local $k_p0 v128) (local $k_p1 v128) (local $k_p2 v128) (local $k_p3 v128) (local $k_p4 v128) (local $k_p5 v128)
    (local $k_p6 v128) (local $k_p7 v128) (local $k_p8 v128) (local $k_zero v128) (local $k_mhalf v128) (local $k_invsqrt2pi v128)
    (local $k_tiny v128) (local $bias v128) (local $v v128) (local $z v128) (local $t v128) (local $t2 v128)
    (local $t4 v128) (local $a v128) (local $e v128) (local $h v128) (local $phi v128) (local $et v128)
    (local $ek v128) (local $er v128) (local $er2 v128) (local $er4 v128) (local $eq v128) (local $es v128)
    (local.set $k_log2e (v128.const f64x2 1.4426950408889634 1.4426950408889634))
    (local.set $k_magic (v128.const f64x2 6755399441055744 6755399441055744))
    (local.set $k_ln2hi (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01))
    (local.set $k_ln2lo (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
    (local.set $k_one (v128.const f64x2 1 1))
    (local.set $k_half (v128.const f64x2 0.5 0.5))
    (local.set $k_c3 (v128.const f64x2 0.16666666666666666 0.16666666666666666))
    (local.set $k_c4 (v128.const f64x2 0.041666666666666664 0.041666666666666664))
    (local.set $k_c5 (v128.const f64x2 0.008333333333333333 0.008333333333333333))
    (local.set $k_c6 (v128.const f64x2 0.001388888888888889 0.001388888888888889))
    (local.set $k_c7 (v128.const f64x2 0.0001984126984126984 0.0001984126984126984))
    (local.set $k_c8 (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05))
    (local.set $k_c9 (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06))
    (local.set $k_c10 (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07))
    (local.set $k_c11 (v128.const f64x2 2.505210838544172e-08 2.505210838544172e-08))
    (local.set $k_min (v128.const f64x2 -708 -708))
    (local.set $k_sqrt1_2 (v128.const f64x2 0.7071067811865476 0.7071067811865476))
    (local.set $k_e0 (v128.const f64x2 1.26551223 1.26551223))
    (local.set $k_p0 (v128.const f64x2 1.00002368 1.00002368))
    (local.set $k_p1 (v128.const f64x2 0.37409196 0.37409196))
    (local.set $k_p2 (v128.const f64x2 0.09678418 0.09678418))
    (local.set $k_p3 (v128.const f64x2 -0.18628806 -0.18628806))
    (local.set $k_p4 (v128.const f64x2 0.27886807 0.27886807))
    (local.set $k_p5 (v128.const f64x2 -1.13520398 -1.13520398))
    (local.set $k_p6 (v128.const f64x2 1.48851587 1.48851587))
    (local.set $k_p7 (v128.const f64x2 -0.82215223 -0.82215223))
    (local.set $k_p8 (v128.const f64x2 0.17087277 0.17087277))
    (local.set $k_zero (v128.const f64x2 0 0))
    (local.set $k_mhalf (v128.const f64x2 -0.5 -0.5))
    (local.set $k_invsqrt2pi (v128.const f64x2 0.3989422804014327 0.3989422804014327))
    (local.set $k_tiny (v128.const f64x2 1e-30 1e-30))
    (local.set $bias (v128.const i64x2 1023 1023))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $pair
        (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))))
        (local.set $z (f64x2.mul (f64x2.abs (local.get $v)) (local.get $k_sqrt1_2)))
        (local.set $t (f64x2.div (local.get $k_one) (f64x2.add (local.get $k_one) (f64x2.mul (local.get $k_half) (local.get $z)))))
        (local.set $t2 (f64x2.mul (local.get $t) (local.get $t)))
        (local.set $t4 (f64x2.mul (local.get $t2) (local.get $t2)))
        (local.set $a (f64x2.pmax (f64x2.add
          (f64x2.sub (f64x2.neg (f64x2.mul (local.get $z) (local.get $z))) (local.get $k_e0))
          (f64x2.mul (local.get $t) (f64x2.add (f64x2.add
            (f64x2.add (f64x2.add (local.get $k_p0) (f64x2.mul (local.get $k_p1) (local.get $t))) (f64x2.mul (local.get $t2) (f64x2.add (local.get $k_p2) (f64x2.mul (local.get $k_p3) (local.get $t)))))
            (f64x2.mul (local.get $t4) (f64x2.add (f64x2.add (local.get $k_p4) (f64x2.mul (local.get $k_p5) (local.get $t))) (f64x2.mul (local.get $t2) (f64x2.add (local.get $k_p6) (f64x2.mul (local.get $k_p7) (local.get $t)))))))
            (f64x2.mul (f64x2.mul (local.get $t4) (local.get $t4)) (local.get $k_p8))))) (local.get $k_min)))
        (local.set $et (f64x2.add (f64x2.mul (local.get $a) (local.get $k_log2e)) (local.get $k_magic)))
        (local.set $ek (f64x2.sub (local.get $et) (local.get $k_magic)))
        (local.set $er (f64x2.sub (f64x2.sub (local.get $a) (f64x2.mul (local.get $ek) (local.get $k_ln2hi)))
          (f64x2.mul (local.get $ek) (local.get $k_ln2lo))))
        (local.set $er2 (f64x2.mul (local.get $er) (local.get $er)))
        (local.set $er4 (f64x2.mul (local.get $er2) (local.get $er2)))
        (local.set $eq (f64x2.mul (local.get $er)
          (f64x2.add (f64x2.add (f64x2.add (local.get $k_one) (f64x2.mul (local.get $er) (local.get $k_half)))
            (f64x2.mul (local.get $er2) (f64x2.add (local.get $k_c3) (f64x2.mul (local.get $er) (local.get $k_c4)))))
            (f64x2.mul (local.get $er4) (f64x2.add (f64x2.add (f64x2.add (local.get $k_c5) (f64x2.mul (local.get $er) (local.get $k_c6)))
              (f64x2.mul (local.get $er2) (f64x2.add (local.get $k_c7) (f64x2.mul (local.get $er) (local.get $k_c8)))))
              (f64x2.mul (local.get $er4) (f64x2.add (f64x2.add (local.get $k_c9) (f64x2.mul (local.get $er) (local.get $k_c10)))
                (f64x2.mul (local.get $er2) (local.get $k_c11)))))))))
        (local.set $es (i64x2.shl (i64x2.add (local.get $et) (local.get $bias)) (i32.const 52)))
        (local.set $e (f64x2.add (local.get $es) (f64x2.mul (local.get $es) (local.get $eq))))
        (local.set $h (f64x2.mul (local.get $k_half) (f64x2.mul (local.get $t) (local.get $e))))
        (local.set $phi (v128.bitselect (local.get $h) (f64x2.sub (local.get $k_one) (local.get $h))
          (f64x2.lt (local.get $v) (local.get $k_zero))))
        (v128.store64_lane 0 (local.get $dst)
          (f32x4.demote_f64x2_zero (f64x2.mul (local.get $v) (local.get $phi))))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br_if $pair (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; o[i] = g[i]·(Φ(x) + x·φ(x)), gelu's exact rule, with Φ(x) read off the forward's output
  ;; y = x·Φ(x) as y/x (0.5 where |x| ≤ 1e-30, where y/x would lose its digits) and
  ;; φ(x) = e^(−x²/2)/√(2π) (its exponent clamped at −708, e^a as in gelu above): one exp, not
  ;; erfc's and φ's two. 2·pairs float32 values (byte offsets), in double, rounded once.
  (func (export "gelu_backward") (param $g i32) (param $x i32) (param $y i32) (param $o i32)
    (param $pairs i32)
    (local $k_log2e v128) (local $k_magic v128) (local $k_ln2hi v128) (local $k_ln2lo v128) (local $k_one v128) (local $k_half v128)
    (local $k_c3 v128) (local $k_c4 v128) (local $k_c5 v128) (local $k_c6 v128) (local $k_c7 v128) (local $k_c8 v128)
    (local $k_c9 v128) (local $k_c10 v128) (local $k_c11 v128) (local $k_min v128) (local $k_sqrt1_2 v128) (local $k_e0 v128)
    (local $k_p0 v128) (local $k_p1 v128) (local $k_p2 v128) (local $k_p3 v128) (local $k_p4 v128) (local $k_p5 v128)
    (local $k_p6 v128) (local $k_p7 v128) (local $k_p8 v128) (local $k_zero v128) (local $k_mhalf v128) (local $k_invsqrt2pi v128)
    (local $k_tiny v128) (local $bias v128) (local $v v128) (local $a v128) (local $e v128) (local $pdf v128)
    (local $phi v128) (local $et v128) (local $ek v128) (local $er v128) (local $er2 v128) (local $er4 v128)
    (local $eq v128) (local $es v128)
    (local.set $k_log2e (v128.const f64x2 1.4426950408889634 1.4426950408889634))
    (local.set $k_magic (v128.const f64x2 6755399441055744 6755399441055744))
    (local.set $k_ln2hi (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01))
    (local.set $k_ln2lo (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
    (local.set $k_one (v128.const f64x2 1 1))
    (local.set $k_half (v128.const f64x2 0.5 0.5))
    (local.set $k_c3 (v128.const f64x2 0.16666666666666666 0.16666666666666666))
    (local.set $k_c4 (v128.const f64x2 0.041666666666666664 0.041666666666666664))
    (local.set $k_c5 (v128.const f64x2 0.008333333333333333 0.008333333333333333))
    (local.set $k_c6 (v128.const f64x2 0.001388888888888889 0.001388888888888889))
    (local.set $k_c7 (v128.const f64x2 0.0001984126984126984 0.0001984126984126984))
    (local.set $k_c8 (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05))
    (local.set $k_c9 (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06))
    (local.set $k_c10 (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07))
    (local.set $k_c11 (v128.const f64x2 2.505210838544172e-08 2.505210838544172e-08))
    (local.set $k_min (v128.const f64x2 -708 -708))
    (local.set $k_sqrt1_2 (v128.const f64x2 0.7071067811865476 0.7071067811865476))
    (local.set $k_e0 (v128.const f64x2 1.26551223 1.26551223))
    (local.set $k_p0 (v128.const f64x2 1.00002368 1.00002368))
    (local.set $k_p1 (v128.const f64x2 0.37409196 0.37409196))
    (local.set $k_p2 (v128.const f64x2 0.09678418 0.09678418))
    (local.set $k_p3 (v128.const f64x2 -0.18628806 -0.18628806))
    (local.set $k_p4 (v128.const f64x2 0.27886807 0.27886807))
    (local.set $k_p5 (v128.const f64x2 -1.13520398 -1.13520398))
    (local.set $k_p6 (v128.const f64x2 1.48851587 1.48851587))
    (local.set $k_p7 (v128.const f64x2 -0.82215223 -0.82215223))
    (local.set $k_p8 (v128.const f64x2 0.17087277 0.17087277))
    (local.set $k_zero (v128.const f64x2 0 0))
    (local.set $k_mhalf (v128.const f64x2 -0.5 -0.5))
    (local.set $k_invsqrt2pi (v128.const f64x2 0.3989422804014327 0.3989422804014327))
    (local.set $k_tiny (v128.const f64x2 1e-30 1e-30))
    (local.set $bias (v128.const i64x2 1023 1023))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $pair
        (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))))
        (local.set $a (f64x2.pmax (f64x2.mul (f64x2.mul (local.get $k_mhalf) (local.get $v)) (local.get $v)) (local.get $k_min)))
        (local.set $et (f64x2.add (f64x2.mul (local.get $a) (local.get $k_log2e)) (local.get $k_magic)))
        (local.set $ek (f64x2.sub (local.get $et) (local.get $k_magic)))
        (local.set $er (f64x2.sub (f64x2.sub (local.get $a) (f64x2.mul (local.get $ek) (local.get $k_ln2hi)))
          (f64x2.mul (local.get $ek) (local.get $k_ln2lo))))
        (local.set $er2 (f64x2.mul (local.get $er) (local.get $er)))
        (local.set $er4 (f64x2.mul (local.get $er2) (local.get $er2)))
        (local.set $eq (f64x2.mul (local.get $er)
          (f64x2.add (f64x2.add (f64x2.add (local.get $k_one) (f64x2.mul (local.get $er) (local.get $k_half)))
            (f64x2.mul (local.get $er2) (f64x2.add (local.get $k_c3) (f64x2.mul (local.get $er) (local.get $k_c4)))))
            (f64x2.mul (local.get $er4) (f64x2.add (f64x2.add (f64x2.add (local.get $k_c5) (f64x2.mul (local.get $er) (local.get $k_c6)))
              (f64x2.mul (local.get $er2) (f64x2.add (local.get $k_c7) (f64x2.mul (local.get $er) (local.get $k_c8)))))
              (f64x2.mul (local.get $er4) (f64x2.add (f64x2.add (local.get $k_c9) (f64x2.mul (local.get $er) (local.get $k_c10)))
                (f64x2.mul (local.get $er2) (local.get $k_c11)))))))))
        (local.set $es (i64x2.shl (i64x2.add (local.get $et) (local.get $bias)) (i32.const 52)))
        (local.set $e (f64x2.add (local.get $es) (f64x2.mul (local.get $es) (local.get $eq))))
        (local.set $pdf (f64x2.mul (local.get $e) (local.get $k_invsqrt2pi)))
        (local.set $phi (v128.bitselect
          (f64x2.div (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $y))) (local.get $v))
          (local.get $k_half)
          (f64x2.gt (f64x2.abs (local.get $v)) (local.get $k_tiny))))
        (v128.store64_lane 0 (local.get $o) (f32x4.demote_f64x2_zero
          (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $g)))
            (f64x2.add (local.get $phi) (f64x2.mul (local.get $v) (local.get $pdf))))))
        (local.set $g (i32.add (local.get $g) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $y (i32.add (local.get $y) (i32.const 8)))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br_if $pair (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; gelu's tanh form's rule, with t = tanh u as the forward kept it, 2·pairs float32 values
  ;; (byte offsets): o = g·(0.5·(1 + t) + 0.5·x·(1 − t·t)·√(2/π)·(1 + 3·0.044715·x·x)), in
  ;; double in that order, rounded once: activation.ts's loop's bits.
  (func (export "gelu_tanh_backward") (param $g i32) (param $x i32) (param $t i32) (param $o i32)
    (param $pairs i32)
    (local $v v128) (local $th v128) (local $c v128) (local $a3 v128) (local $half v128)
    (local $one v128)
    (local.set $c (f64x2.splat (f64.const 0.7978845608028654)))
    (local.set $a3 (f64x2.splat (f64.const 0.134145)))
    (local.set $half (f64x2.splat (f64.const 0.5)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $pair
        (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))))
        (local.set $th (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t))))
        (v128.store64_lane 0 (local.get $o) (f32x4.demote_f64x2_zero (f64x2.mul
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $g)))
          (f64x2.add
            (f64x2.mul (local.get $half) (f64x2.add (local.get $one) (local.get $th)))
            (f64x2.mul
              (f64x2.mul
                (f64x2.mul (f64x2.mul (local.get $half) (local.get $v))
                  (f64x2.sub (local.get $one) (f64x2.mul (local.get $th) (local.get $th))))
                (local.get $c))
              (f64x2.add (local.get $one)
                (f64x2.mul (f64x2.mul (local.get $a3) (local.get $v)) (local.get $v))))))))
        (local.set $g (i32.add (local.get $g) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $t (i32.add (local.get $t) (i32.const 8)))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br_if $pair (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; gelu's tanh form, 4·quads float32 values (byte offsets; x apart from t and o, o either t
  ;; itself or apart from it), in three passes of activation.ts's loops, each with their bits:
  ;; u = √(2/π)·(x + 0.044715·x·x·x) in double in that order, rounded to float32, into t; then
  ;; t = tanh u in place (the tanh kernel); then o = 0.5·x·(1 + t) in double, rounded once.
  ;; t stays for the rule (gelu_tanh_backward). Two lanes of double at a time.
  (func (export "gelu_tanh") (param $x i32) (param $t i32) (param $o i32) (param $quads i32)
    (local $xi i32) (local $ti i32) (local $pairs i32) (local $v v128) (local $c v128)
    (local $a v128) (local $half v128) (local $one v128)
    (local.set $c (f64x2.splat (f64.const 0.7978845608028654)))
    (local.set $a (f64x2.splat (f64.const 0.044715)))
    (local.set $half (f64x2.splat (f64.const 0.5)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (br_if 0 (i32.eqz (local.get $quads)))
    (local.set $xi (local.get $x))
    (local.set $ti (local.get $t))
    (local.set $pairs (i32.shl (local.get $quads) (i32.const 1)))
    (loop $u
      (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $xi))))
      (v128.store64_lane 0 (local.get $ti) (f32x4.demote_f64x2_zero (f64x2.mul (local.get $c)
        (f64x2.add (local.get $v) (f64x2.mul (f64x2.mul (f64x2.mul (local.get $a) (local.get $v))
          (local.get $v)) (local.get $v))))))
      (local.set $xi (i32.add (local.get $xi) (i32.const 8)))
      (local.set $ti (i32.add (local.get $ti) (i32.const 8)))
      (br_if $u (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))
    (call $tanh (local.get $t) (local.get $t) (local.get $quads))
    (local.set $pairs (i32.shl (local.get $quads) (i32.const 1)))
    (loop $y
      (v128.store64_lane 0 (local.get $o) (f32x4.demote_f64x2_zero (f64x2.mul
        (f64x2.mul (local.get $half) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))))
        (f64x2.add (local.get $one)
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))))))
      (local.set $x (i32.add (local.get $x) (i32.const 8)))
      (local.set $t (i32.add (local.get $t) (i32.const 8)))
      (local.set $o (i32.add (local.get $o) (i32.const 8)))
      (br_if $y (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1))))))

  ;; Softmax along rows of n float32 values, n a multiple of four (byte offsets; o is x itself
  ;; or apart from it; e: n doubles of scratch; tab: the 32 doubles 2^(j/32)), with the steps and
  ;; bits of softmax.ts's lastAxis: m = the row's largest value (Math.max's: NaN wins, +0 above
  ;; −0; four lanes, then across them); d = x − m in double; e = 0 where d ≤ −708 (−∞ among them:
  ;; there exp is below 2^-1021, which leaves the row's sum, at least 1, as it is and gives a
  ;; float32 0 as the loop's does), else fastmath.ts's fastExp: k = (d·32/ln2 + 1.5·2^52) −
  ;; 1.5·2^52, r = (d − k·hi) − k·lo, p = 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r/120)))), then
  ;; 2^(k>>5) (its bits, exact: k ≥ −32690) · tab[k & 31] · p; a NaN d stays NaN. z = Σ e in
  ;; order, in double; o = e/z, rounded once. Two lanes of double at a time, the sum one by one.
  (func (export "softmax_rows") (param $x i32) (param $o i32) (param $rows i32) (param $n i32)
    (param $e i32) (param $tab i32)
    (local $k i32) (local $bytes i32) (local $mq v128) (local $m v128) (local $d v128)
    (local $t v128) (local $kk v128) (local $r v128) (local $p v128) (local $nb v128)
    (local $v v128) (local $z f64) (local $zz v128)
    (local $scale v128) (local $round v128) (local $hi v128) (local $lo v128) (local $one v128)
    (local $c2 v128) (local $c6 v128) (local $c24 v128) (local $c120 v128) (local $floor v128)
    (local $roundBits v128) (local $bias v128) (local $ninf v128)
    (local.set $scale (f64x2.splat (f64.const 46.16624130844683)))
    (local.set $round (f64x2.splat (f64.const 6755399441055744)))
    (local.set $hi (f64x2.splat (f64.const 0.02166084938653512)))
    (local.set $lo (f64x2.splat (f64.const 5.9631716539705866e-12)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $c2 (f64x2.splat (f64.const 0.5)))
    (local.set $c6 (f64x2.splat (f64.const 0.16666666666666666)))
    (local.set $c24 (f64x2.splat (f64.const 0.041666666666666664)))
    (local.set $c120 (f64x2.splat (f64.const 0.008333333333333333)))
    (local.set $floor (f64x2.splat (f64.const -708)))
    (local.set $roundBits (i64x2.splat (i64.const 0x4338000000000000)))
    (local.set $bias (i64x2.splat (i64.const 1023)))
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $rows)) (i32.eqz (local.get $n))))
      (loop $row
        ;; The row's largest value, four lanes at a time, then across the lanes.
        (local.set $mq (local.get $ninf))
        (local.set $k (i32.const 0))
        (loop $max
          (local.set $mq (f32x4.max (local.get $mq)
            (v128.load (i32.add (local.get $x) (local.get $k)))))
          (br_if $max (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16)))
            (local.get $bytes))))
        (local.set $mq (f32x4.max (local.get $mq)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $mq) (local.get $mq))))
        (local.set $mq (f32x4.max (local.get $mq)
          (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $mq) (local.get $mq))))
        (local.set $m (f64x2.promote_low_f32x4 (local.get $mq)))
        ;; e = exp(x − m), two at a time, into the scratch.
        (local.set $k (i32.const 0))
        (loop $exp
          (local.set $d (f64x2.sub (f64x2.promote_low_f32x4
            (v128.load64_zero (i32.add (local.get $x) (local.get $k)))) (local.get $m)))
          ;; Both lanes at or below −708 (attention's masked −∞ among them): both 0, as below.
          (if (i64x2.all_true (f64x2.le (local.get $d) (local.get $floor)))
            (then (v128.store (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 1)))
              (v128.const i64x2 0 0)))
            (else
          (local.set $v (f64x2.pmax (local.get $d) (local.get $floor)))
          (local.set $t (f64x2.add (f64x2.mul (local.get $v) (local.get $scale)) (local.get $round)))
          (local.set $kk (f64x2.sub (local.get $t) (local.get $round)))
          (local.set $r (f64x2.sub (f64x2.sub (local.get $v) (f64x2.mul (local.get $kk) (local.get $hi)))
            (f64x2.mul (local.get $kk) (local.get $lo))))
          (local.set $p (f64x2.add (local.get $one) (f64x2.mul (local.get $r)
            (f64x2.add (local.get $one) (f64x2.mul (local.get $r)
              (f64x2.add (local.get $c2) (f64x2.mul (local.get $r)
                (f64x2.add (local.get $c6) (f64x2.mul (local.get $r)
                  (f64x2.add (local.get $c24) (f64x2.mul (local.get $r) (local.get $c120))))))))))))
          (local.set $nb (i64x2.sub (local.get $t) (local.get $roundBits)))
          (local.set $v (f64x2.mul (f64x2.mul
            (i64x2.shl (i64x2.add (i64x2.shr_s (local.get $nb) (i32.const 5)) (local.get $bias))
              (i32.const 52))
            (f64x2.replace_lane 1
              (f64x2.splat (f64.load (i32.add (local.get $tab) (i32.shl
                (i32.and (i32.wrap_i64 (i64x2.extract_lane 0 (local.get $nb))) (i32.const 31))
                (i32.const 3)))))
              (f64.load (i32.add (local.get $tab) (i32.shl
                (i32.and (i32.wrap_i64 (i64x2.extract_lane 1 (local.get $nb))) (i32.const 31))
                (i32.const 3))))))
            (local.get $p)))
          (v128.store (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 1)))
            (v128.andnot (local.get $v) (f64x2.le (local.get $d) (local.get $floor))))))
          (br_if $exp (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 8)))
            (local.get $bytes))))
        ;; z = Σ e in order.
        (local.set $z (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $sum
          (local.set $z (f64.add (local.get $z)
            (f64.load (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 1))))))
          (br_if $sum (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 4)))
            (local.get $bytes))))
        (local.set $zz (f64x2.splat (local.get $z)))
        ;; o = e / z, rounded once.
        (local.set $k (i32.const 0))
        (loop $div
          (v128.store64_lane 0 (i32.add (local.get $o) (local.get $k)) (f32x4.demote_f64x2_zero
            (f64x2.div (v128.load (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 1))))
              (local.get $zz))))
          (br_if $div (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 8)))
            (local.get $bytes))))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $o (i32.add (local.get $o) (local.get $bytes)))
        (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))))

  ;; dst[i] = ln(src[i]) for 2·pairs float32 values (byte offsets; the caller pads to pairs), in
  ;; double precision two lanes at a time: x = m·2ᵉ with m in [√½, √2), ln m = 2·atanh(s) with
  ;; s = (m − 1)/(m + 1), |s| < 0.172, by its odd series to s¹⁵ (error below 1e-13), rounded
  ;; once to float32. Zero, negatives, ∞ and NaN give what Math.log gives.
  (func $log (export "log") (param $src i32) (param $dst i32) (param $pairs i32)
    (local $one v128) (local $two v128) (local $half v128) (local $sqrt2 v128) (local $ln2 v128)
    (local $zero v128) (local $inf v128) (local $ninf v128) (local $nan v128) (local $d3 v128)
    (local $d5 v128) (local $d7 v128) (local $d9 v128) (local $d11 v128) (local $d13 v128) (local
    $d15 v128) (local $x v128) (local $e v128) (local $m v128) (local $big v128) (local $s v128)
    (local $s2 v128) (local $s4 v128) (local $p v128) (local $ok v128) (local $q v128) (local
    $bias v128) (local $mant v128) (local $onebits v128)
    (local.set $one (v128.const f64x2 1 1))
    (local.set $two (v128.const f64x2 2 2))
    (local.set $half (v128.const f64x2 0.5 0.5))
    (local.set $sqrt2 (v128.const f64x2 1.4142135623730951 1.4142135623730951))
    (local.set $ln2 (v128.const f64x2 0.6931471805599453 0.6931471805599453))
    (local.set $zero (v128.const f64x2 0 0))
    (local.set $inf (v128.const f64x2 inf inf))
    (local.set $ninf (v128.const f64x2 -inf -inf))
    (local.set $nan (v128.const f64x2 nan nan))
    (local.set $d3 (v128.const f64x2 0.6666666666666666 0.6666666666666666))
    (local.set $d5 (v128.const f64x2 0.4 0.4))
    (local.set $d7 (v128.const f64x2 0.2857142857142857 0.2857142857142857))
    (local.set $d9 (v128.const f64x2 0.2222222222222222 0.2222222222222222))
    (local.set $d11 (v128.const f64x2 0.18181818181818182 0.18181818181818182))
    (local.set $d13 (v128.const f64x2 0.15384615384615385 0.15384615384615385))
    (local.set $d15 (v128.const f64x2 0.13333333333333333 0.13333333333333333))
    (local.set $bias (v128.const i32x4 1023 1023 1023 1023))
    (local.set $mant (v128.const i64x2 0x000fffffffffffff 0x000fffffffffffff))
    (local.set $onebits (v128.const i64x2 0x3ff0000000000000 0x3ff0000000000000))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $pair
        (local.set $x (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))))
        ;; x = m·2ᵉ with m in [1, 2): the exponent's bits, and the mantissa's under the exponent of 1.
        (local.set $e (f64x2.convert_low_i32x4_s (i32x4.sub
          (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11
            (i64x2.shr_u (local.get $x) (i32.const 52)) (local.get $x))
          (local.get $bias))))
        (local.set $m (v128.or (v128.and (local.get $x) (local.get $mant)) (local.get $onebits)))
        ;; m in [√½, √2): halve the larger ones and count that in e.
        (local.set $big (f64x2.gt (local.get $m) (local.get $sqrt2)))
        (local.set $m (v128.bitselect (f64x2.mul (local.get $m) (local.get $half)) (local.get $m) (local.get $big)))
        (local.set $e (f64x2.add (local.get $e) (v128.and (local.get $big) (local.get $one))))
        ;; ln m = 2·atanh(s) = s·(2 + (2/3)s² + (2/5)s⁴ + … + (2/15)s¹⁴), s = (m − 1)/(m + 1).
        (local.set $s (f64x2.div (f64x2.sub (local.get $m) (local.get $one)) (f64x2.add (local.get $m) (local.get $one))))
        (local.set $s2 (f64x2.mul (local.get $s) (local.get $s)))
        (local.set $s4 (f64x2.mul (local.get $s2) (local.get $s2)))
        (local.set $p (f64x2.mul (local.get $s)
          (f64x2.add
            (f64x2.add (f64x2.add (local.get $two) (f64x2.mul (local.get $s2) (local.get $d3)))
              (f64x2.mul (local.get $s4) (f64x2.add (local.get $d5) (f64x2.mul (local.get $s2) (local.get $d7)))))
            (f64x2.mul (f64x2.mul (local.get $s4) (local.get $s4))
              (f64x2.add (f64x2.add (local.get $d9) (f64x2.mul (local.get $s2) (local.get $d11)))
                (f64x2.mul (local.get $s4) (f64x2.add (local.get $d13) (f64x2.mul (local.get $s2) (local.get $d15)))))))))
        (local.set $p (f64x2.add (f64x2.mul (local.get $e) (local.get $ln2)) (local.get $p)))
        ;; 0 < x < ∞ as computed; ln 0 = −∞, ln ∞ = ∞, NaN for NaN and negatives, as Math.log.
        (local.set $ok (v128.and (f64x2.gt (local.get $x) (local.get $zero)) (f64x2.lt (local.get $x) (local.get $inf))))
        (local.set $q (v128.bitselect (local.get $ninf) (local.get $nan) (f64x2.eq (local.get $x) (local.get $zero))))
        (local.set $q (v128.bitselect (local.get $inf) (local.get $q) (f64x2.eq (local.get $x) (local.get $inf))))
        (v128.store64_lane 0 (local.get $dst) (f32x4.demote_f64x2_zero
          (v128.bitselect (local.get $p) (local.get $q) (local.get $ok))))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br_if $pair (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; Batchnorm's training forward, every node of its subgraph (ops/nn.ts), each value computed
  ;; as that node's own kernel computes it: float32 operations, column sums in row order from
  ;; +0, bnvar_inv as 1/√x in double rounded once. x (rows × width) is at byte offset $x, gain and
  ;; bias (width each) at $gain and $bias. $outs holds the byte offsets of the eleven results:
  ;; the six per-column vectors bnsum, bnmeani, bnvarsum, bnvar, bnvar_eps, bnvar_inv and the
  ;; five matrices bndiff, bndiff2, bnraw, bnscaled, hpreact (each written exactly, no lane past
  ;; its end). Sixteen columns at a time (then four, then one), walking the rows
  ;; three times with the columns' sums, means and scales held in locals: the sums' additions
  ;; stay in row order, four independent chains at once.
  (func (export "bn_forward")
    (param $x i32) (param $gain i32) (param $bias i32) (param $outs i32)
    (param $rows i32) (param $width i32) (param $invn f32) (param $invn1 f32) (param $eps f32)
    (local $vec i32) (local $rowb i32) (local $r i32) (local $j i32)
    (local $p i32) (local $at i32) (local $col i32)
    (local $mean i32) (local $vsum i32) (local $var i32) (local $vareps i32) (local $inv i32)
    (local $diff i32) (local $diff2 i32) (local $raw i32) (local $scaled i32) (local $out i32)
    (local $vinvn v128) (local $vinvn1 v128) (local $veps v128) (local $one v128) (local $d v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $i0 v128) (local $i1 v128) (local $i2 v128) (local $i3 v128)
    (local $s f32) (local $ms f32) (local $ds f32) (local $is f32)
    (local $px i32) (local $pdiff i32) (local $pdiff2 i32) (local $praw i32) (local $pscaled i32)
    (local $pout i32) (local $pgain i32) (local $pbias i32)
    (local.set $rowb (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vec (i32.load (local.get $outs)))
    (local.set $mean (i32.load offset=4 (local.get $outs)))
    (local.set $vsum (i32.load offset=8 (local.get $outs)))
    (local.set $var (i32.load offset=12 (local.get $outs)))
    (local.set $vareps (i32.load offset=16 (local.get $outs)))
    (local.set $inv (i32.load offset=20 (local.get $outs)))
    (local.set $diff (i32.load offset=24 (local.get $outs)))
    (local.set $diff2 (i32.load offset=28 (local.get $outs)))
    (local.set $raw (i32.load offset=32 (local.get $outs)))
    (local.set $scaled (i32.load offset=36 (local.get $outs)))
    (local.set $out (i32.load offset=40 (local.get $outs)))
    (local.set $vinvn (f32x4.splat (local.get $invn)))
    (local.set $vinvn1 (f32x4.splat (local.get $invn1)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $one (v128.const f64x2 1 1))
    ;; 16 columns at a time
    (block $gd
      (loop $gl
        (br_if $gd (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $width)))
        (local.set $col (i32.shl (local.get $j) (i32.const 2)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (local.get $col)))
        (local.set $r (local.get $rows))
        (block $gsd
          (br_if $gsd (i32.eqz (local.get $r)))
          (loop $gsl
            (local.set $a0 (f32x4.add (local.get $a0) (v128.load offset=0 (local.get $p))))
            (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
            (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
            (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $gsl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $at (i32.add (local.get $vec) (local.get $col)))
        (v128.store offset=0 (local.get $at) (local.get $a0))
        (local.set $m0 (f32x4.mul (local.get $a0) (local.get $vinvn)))
        (v128.store offset=0 (i32.add (local.get $mean) (local.get $col)) (local.get $m0))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (v128.store offset=16 (local.get $at) (local.get $a1))
        (local.set $m1 (f32x4.mul (local.get $a1) (local.get $vinvn)))
        (v128.store offset=16 (i32.add (local.get $mean) (local.get $col)) (local.get $m1))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (v128.store offset=32 (local.get $at) (local.get $a2))
        (local.set $m2 (f32x4.mul (local.get $a2) (local.get $vinvn)))
        (v128.store offset=32 (i32.add (local.get $mean) (local.get $col)) (local.get $m2))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (v128.store offset=48 (local.get $at) (local.get $a3))
        (local.set $m3 (f32x4.mul (local.get $a3) (local.get $vinvn)))
        (v128.store offset=48 (i32.add (local.get $mean) (local.get $col)) (local.get $m3))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $px (i32.add (local.get $x) (local.get $col)))
        (local.set $pdiff (i32.add (local.get $diff) (local.get $col)))
        (local.set $pdiff2 (i32.add (local.get $diff2) (local.get $col)))
        (local.set $r (local.get $rows))
        (block $gdd
          (br_if $gdd (i32.eqz (local.get $r)))
          (loop $gdl
            (local.set $d (f32x4.sub (v128.load offset=0 (local.get $px)) (local.get $m0)))
            (v128.store offset=0 (local.get $pdiff) (local.get $d))
            (local.set $d (f32x4.mul (local.get $d) (local.get $d)))
            (v128.store offset=0 (local.get $pdiff2) (local.get $d))
            (local.set $a0 (f32x4.add (local.get $a0) (local.get $d)))
            (local.set $d (f32x4.sub (v128.load offset=16 (local.get $px)) (local.get $m1)))
            (v128.store offset=16 (local.get $pdiff) (local.get $d))
            (local.set $d (f32x4.mul (local.get $d) (local.get $d)))
            (v128.store offset=16 (local.get $pdiff2) (local.get $d))
            (local.set $a1 (f32x4.add (local.get $a1) (local.get $d)))
            (local.set $d (f32x4.sub (v128.load offset=32 (local.get $px)) (local.get $m2)))
            (v128.store offset=32 (local.get $pdiff) (local.get $d))
            (local.set $d (f32x4.mul (local.get $d) (local.get $d)))
            (v128.store offset=32 (local.get $pdiff2) (local.get $d))
            (local.set $a2 (f32x4.add (local.get $a2) (local.get $d)))
            (local.set $d (f32x4.sub (v128.load offset=48 (local.get $px)) (local.get $m3)))
            (v128.store offset=48 (local.get $pdiff) (local.get $d))
            (local.set $d (f32x4.mul (local.get $d) (local.get $d)))
            (v128.store offset=48 (local.get $pdiff2) (local.get $d))
            (local.set $a3 (f32x4.add (local.get $a3) (local.get $d)))
            (local.set $px (i32.add (local.get $px) (local.get $rowb)))
            (local.set $pdiff (i32.add (local.get $pdiff) (local.get $rowb)))
            (local.set $pdiff2 (i32.add (local.get $pdiff2) (local.get $rowb)))
            (br_if $gdl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (v128.store offset=0 (i32.add (local.get $vsum) (local.get $col)) (local.get $a0))
        (local.set $d (f32x4.mul (local.get $a0) (local.get $vinvn1)))
        (v128.store offset=0 (i32.add (local.get $var) (local.get $col)) (local.get $d))
        (local.set $d (f32x4.add (local.get $d) (local.get $veps)))
        (v128.store offset=0 (i32.add (local.get $vareps) (local.get $col)) (local.get $d))
        (local.set $i0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $d)))))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))))))
        (v128.store offset=0 (i32.add (local.get $inv) (local.get $col)) (local.get $i0))
        (v128.store offset=16 (i32.add (local.get $vsum) (local.get $col)) (local.get $a1))
        (local.set $d (f32x4.mul (local.get $a1) (local.get $vinvn1)))
        (v128.store offset=16 (i32.add (local.get $var) (local.get $col)) (local.get $d))
        (local.set $d (f32x4.add (local.get $d) (local.get $veps)))
        (v128.store offset=16 (i32.add (local.get $vareps) (local.get $col)) (local.get $d))
        (local.set $i1 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $d)))))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))))))
        (v128.store offset=16 (i32.add (local.get $inv) (local.get $col)) (local.get $i1))
        (v128.store offset=32 (i32.add (local.get $vsum) (local.get $col)) (local.get $a2))
        (local.set $d (f32x4.mul (local.get $a2) (local.get $vinvn1)))
        (v128.store offset=32 (i32.add (local.get $var) (local.get $col)) (local.get $d))
        (local.set $d (f32x4.add (local.get $d) (local.get $veps)))
        (v128.store offset=32 (i32.add (local.get $vareps) (local.get $col)) (local.get $d))
        (local.set $i2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $d)))))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))))))
        (v128.store offset=32 (i32.add (local.get $inv) (local.get $col)) (local.get $i2))
        (v128.store offset=48 (i32.add (local.get $vsum) (local.get $col)) (local.get $a3))
        (local.set $d (f32x4.mul (local.get $a3) (local.get $vinvn1)))
        (v128.store offset=48 (i32.add (local.get $var) (local.get $col)) (local.get $d))
        (local.set $d (f32x4.add (local.get $d) (local.get $veps)))
        (v128.store offset=48 (i32.add (local.get $vareps) (local.get $col)) (local.get $d))
        (local.set $i3 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $d)))))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))))))
        (v128.store offset=48 (i32.add (local.get $inv) (local.get $col)) (local.get $i3))
        (local.set $pdiff (i32.add (local.get $diff) (local.get $col)))
        (local.set $praw (i32.add (local.get $raw) (local.get $col)))
        (local.set $pscaled (i32.add (local.get $scaled) (local.get $col)))
        (local.set $pout (i32.add (local.get $out) (local.get $col)))
        (local.set $pgain (i32.add (local.get $gain) (local.get $col)))
        (local.set $pbias (i32.add (local.get $bias) (local.get $col)))
        (local.set $r (local.get $rows))
        (block $god
          (br_if $god (i32.eqz (local.get $r)))
          (loop $gol
            (local.set $d (f32x4.mul (v128.load offset=0 (local.get $pdiff)) (local.get $i0)))
            (v128.store offset=0 (local.get $praw) (local.get $d))
            (local.set $d (f32x4.mul (v128.load offset=0 (local.get $pgain)) (local.get $d)))
            (v128.store offset=0 (local.get $pscaled) (local.get $d))
            (v128.store offset=0 (local.get $pout)
              (f32x4.add (local.get $d) (v128.load offset=0 (local.get $pbias))))
            (local.set $d (f32x4.mul (v128.load offset=16 (local.get $pdiff)) (local.get $i1)))
            (v128.store offset=16 (local.get $praw) (local.get $d))
            (local.set $d (f32x4.mul (v128.load offset=16 (local.get $pgain)) (local.get $d)))
            (v128.store offset=16 (local.get $pscaled) (local.get $d))
            (v128.store offset=16 (local.get $pout)
              (f32x4.add (local.get $d) (v128.load offset=16 (local.get $pbias))))
            (local.set $d (f32x4.mul (v128.load offset=32 (local.get $pdiff)) (local.get $i2)))
            (v128.store offset=32 (local.get $praw) (local.get $d))
            (local.set $d (f32x4.mul (v128.load offset=32 (local.get $pgain)) (local.get $d)))
            (v128.store offset=32 (local.get $pscaled) (local.get $d))
            (v128.store offset=32 (local.get $pout)
              (f32x4.add (local.get $d) (v128.load offset=32 (local.get $pbias))))
            (local.set $d (f32x4.mul (v128.load offset=48 (local.get $pdiff)) (local.get $i3)))
            (v128.store offset=48 (local.get $praw) (local.get $d))
            (local.set $d (f32x4.mul (v128.load offset=48 (local.get $pgain)) (local.get $d)))
            (v128.store offset=48 (local.get $pscaled) (local.get $d))
            (v128.store offset=48 (local.get $pout)
              (f32x4.add (local.get $d) (v128.load offset=48 (local.get $pbias))))
            (local.set $pdiff (i32.add (local.get $pdiff) (local.get $rowb)))
            (local.set $praw (i32.add (local.get $praw) (local.get $rowb)))
            (local.set $pscaled (i32.add (local.get $pscaled) (local.get $rowb)))
            (local.set $pout (i32.add (local.get $pout) (local.get $rowb)))
            (br_if $gol (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $gl)))
    ;; 4 columns at a time
    (block $qd
      (loop $ql
        (br_if $qd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
        (local.set $col (i32.shl (local.get $j) (i32.const 2)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (local.get $col)))
        (local.set $r (local.get $rows))
        (block $qsd
          (br_if $qsd (i32.eqz (local.get $r)))
          (loop $qsl
            (local.set $a0 (f32x4.add (local.get $a0) (v128.load offset=0 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $qsl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $at (i32.add (local.get $vec) (local.get $col)))
        (v128.store offset=0 (local.get $at) (local.get $a0))
        (local.set $m0 (f32x4.mul (local.get $a0) (local.get $vinvn)))
        (v128.store offset=0 (i32.add (local.get $mean) (local.get $col)) (local.get $m0))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $qdd
          (br_if $qdd (i32.eqz (local.get $r)))
          (loop $qdl
            (local.set $d (f32x4.sub (v128.load offset=0 (i32.add (local.get $x) (local.get $p))) (local.get $m0)))
            (v128.store offset=0 (i32.add (local.get $diff) (local.get $p)) (local.get $d))
            (local.set $d (f32x4.mul (local.get $d) (local.get $d)))
            (v128.store offset=0 (i32.add (local.get $diff2) (local.get $p)) (local.get $d))
            (local.set $a0 (f32x4.add (local.get $a0) (local.get $d)))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $qdl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (v128.store offset=0 (i32.add (local.get $vsum) (local.get $col)) (local.get $a0))
        (local.set $d (f32x4.mul (local.get $a0) (local.get $vinvn1)))
        (v128.store offset=0 (i32.add (local.get $var) (local.get $col)) (local.get $d))
        (local.set $d (f32x4.add (local.get $d) (local.get $veps)))
        (v128.store offset=0 (i32.add (local.get $vareps) (local.get $col)) (local.get $d))
        (local.set $i0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $d)))))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $one) (f64x2.sqrt (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))))))
        (v128.store offset=0 (i32.add (local.get $inv) (local.get $col)) (local.get $i0))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $qod
          (br_if $qod (i32.eqz (local.get $r)))
          (loop $qol
            (local.set $d (f32x4.mul (v128.load offset=0 (i32.add (local.get $diff) (local.get $p))) (local.get $i0)))
            (v128.store offset=0 (i32.add (local.get $raw) (local.get $p)) (local.get $d))
            (local.set $d (f32x4.mul (v128.load offset=0 (i32.add (local.get $gain) (local.get $col))) (local.get $d)))
            (v128.store offset=0 (i32.add (local.get $scaled) (local.get $p)) (local.get $d))
            (v128.store offset=0 (i32.add (local.get $out) (local.get $p))
              (f32x4.add (local.get $d) (v128.load offset=0 (i32.add (local.get $bias) (local.get $col)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $qol (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $ql)))
    ;; the last width % 4 columns, one at a time
    (block $cd
      (loop $cl
        (br_if $cd (i32.ge_u (local.get $j) (local.get $width)))
        (local.set $col (i32.shl (local.get $j) (i32.const 2)))
        (local.set $s (f32.const 0))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $csd
          (br_if $csd (i32.eqz (local.get $r)))
          (loop $csl
            (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $x) (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $csl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (f32.store (i32.add (local.get $vec) (local.get $col)) (local.get $s))
        (local.set $ms (f32.mul (local.get $s) (local.get $invn)))
        (f32.store (i32.add (local.get $mean) (local.get $col)) (local.get $ms))
        (local.set $s (f32.const 0))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $cdd
          (br_if $cdd (i32.eqz (local.get $r)))
          (loop $cdl
            (local.set $ds (f32.sub (f32.load (i32.add (local.get $x) (local.get $p))) (local.get $ms)))
            (f32.store (i32.add (local.get $diff) (local.get $p)) (local.get $ds))
            (local.set $ds (f32.mul (local.get $ds) (local.get $ds)))
            (f32.store (i32.add (local.get $diff2) (local.get $p)) (local.get $ds))
            (local.set $s (f32.add (local.get $s) (local.get $ds)))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $cdl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (f32.store (i32.add (local.get $vsum) (local.get $col)) (local.get $s))
        (local.set $s (f32.mul (local.get $s) (local.get $invn1)))
        (f32.store (i32.add (local.get $var) (local.get $col)) (local.get $s))
        (local.set $s (f32.add (local.get $s) (local.get $eps)))
        (f32.store (i32.add (local.get $vareps) (local.get $col)) (local.get $s))
        (local.set $is (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.promote_f32 (local.get $s))))))
        (f32.store (i32.add (local.get $inv) (local.get $col)) (local.get $is))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $cod
          (br_if $cod (i32.eqz (local.get $r)))
          (loop $col_
            (local.set $ds (f32.mul (f32.load (i32.add (local.get $diff) (local.get $p))) (local.get $is)))
            (f32.store (i32.add (local.get $raw) (local.get $p)) (local.get $ds))
            (local.set $ds (f32.mul (f32.load (i32.add (local.get $gain) (local.get $col))) (local.get $ds)))
            (f32.store (i32.add (local.get $scaled) (local.get $p)) (local.get $ds))
            (f32.store (i32.add (local.get $out) (local.get $p)) (f32.add (local.get $ds) (f32.load (i32.add (local.get $bias) (local.get $col)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $col_ (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cl))))

  ;; o[i] = g[i]·(1 − y[i]²) for n float32 values (byte offsets) in float32, as PyTorch's
  ;; `(1.0 - h**2) * dh` rounds it: the square, the difference and the product rounded each:
  ;; tanh's backward written with its output. Eight values per iteration, then four, then one.
  (func (export "mul_one_minus_square") (param $g i32) (param $y i32) (param $o i32) (param $n i32)
    (local $end i32) (local $one v128) (local $h v128) (local $hs f32)
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
    (block $vd
      (loop $vl
        (br_if $vd (i32.gt_u (i32.add (local.get $o) (i32.const 32)) (local.get $end)))
        (local.set $h (v128.load offset=0 (local.get $y)))
        (v128.store offset=0 (local.get $o) (f32x4.mul (v128.load offset=0 (local.get $g))
          (f32x4.sub (local.get $one) (f32x4.mul (local.get $h) (local.get $h)))))
        (local.set $h (v128.load offset=16 (local.get $y)))
        (v128.store offset=16 (local.get $o) (f32x4.mul (v128.load offset=16 (local.get $g))
          (f32x4.sub (local.get $one) (f32x4.mul (local.get $h) (local.get $h)))))
        (local.set $g (i32.add (local.get $g) (i32.const 32)))
        (local.set $y (i32.add (local.get $y) (i32.const 32)))
        (local.set $o (i32.add (local.get $o) (i32.const 32)))
        (br $vl)))
    (if (i32.le_u (i32.add (local.get $o) (i32.const 16)) (local.get $end))
      (then
        (local.set $h (v128.load (local.get $y)))
        (v128.store (local.get $o) (f32x4.mul (v128.load (local.get $g))
          (f32x4.sub (local.get $one) (f32x4.mul (local.get $h) (local.get $h)))))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))))
    (block $sd
      (loop $sl
        (br_if $sd (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $hs (f32.load (local.get $y)))
        (f32.store (local.get $o) (f32.mul (f32.load (local.get $g))
          (f32.sub (f32.const 1) (f32.mul (local.get $hs) (local.get $hs)))))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $sl))))

  ;; 1 when none of the n float32 values at byte offset x is NaN or ±∞, else 0. Those are the
  ;; values whose exponent bits are all ones: shifted left by one (the sign dropped), exactly the
  ;; words of 0xff000000 and above, unsigned. The largest shifted word is kept, lane by lane
  ;; (one-cycle maxima, sixteen values a step), and compared once at the end.
  (func (export "all_finite") (param $x i32) (param $n i32) (result i32)
    (local $end i32) (local $top v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $ud
      (loop $ul
        (br_if $ud (i32.gt_u (i32.add (local.get $x) (i32.const 64)) (local.get $end)))
        (local.set $top (i32x4.max_u (local.get $top) (i32x4.max_u
          (i32x4.max_u (i32x4.shl (v128.load (local.get $x)) (i32.const 1))
            (i32x4.shl (v128.load offset=16 (local.get $x)) (i32.const 1)))
          (i32x4.max_u (i32x4.shl (v128.load offset=32 (local.get $x)) (i32.const 1))
            (i32x4.shl (v128.load offset=48 (local.get $x)) (i32.const 1))))))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (br $ul)))
    (block $vd
      (loop $vl
        (br_if $vd (i32.gt_u (i32.add (local.get $x) (i32.const 16)) (local.get $end)))
        (local.set $top (i32x4.max_u (local.get $top) (i32x4.shl (v128.load (local.get $x)) (i32.const 1))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $vl)))
    (block $sd
      (loop $sl
        (br_if $sd (i32.ge_u (local.get $x) (local.get $end)))
        (if (i32.ge_u (i32.shl (i32.load (local.get $x)) (i32.const 1)) (i32.const 0xff000000))
          (then (return (i32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $sl)))
    (i32.eqz (v128.any_true (i32x4.ge_u (local.get $top)
      (v128.const i32x4 0xff000000 0xff000000 0xff000000 0xff000000)))))

  ;; Batchnorm's dx from its closed form (ops/nn.ts), g and bnraw (rows × width), gain and inv
  ;; (bnvar_inv, width each), byte offsets: per column s = Σ g and q = Σ g·bnraw over the rows in
  ;; order from +0, k = gain·inv / n; then o = k·((n·g − s) − c·(bnraw·q)), c = n/(n − 1). Every
  ;; operation is a float32 one, in the order of the elementwise kernels that the rule's formula
  ;; is written with: the same bits, in two passes over the batch instead of seven. Sixteen
  ;; columns at a time (four chains of additions side by side), then four, then one.
  (func (export "bn_backward")
    (param $g i32) (param $raw i32) (param $gain i32) (param $inv i32) (param $o i32)
    (param $rows i32) (param $width i32) (param $n f32) (param $c f32)
    (local $j i32) (local $r i32) (local $p i32) (local $pg i32) (local $pr i32) (local $po i32) (local $col i32) (local $rowb i32)
    (local $v v128) (local $nv v128) (local $cv v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128)
    (local $ss f32) (local $qs f32) (local $ks f32) (local $gs f32)
    (local.set $rowb (i32.shl (local.get $width) (i32.const 2)))
    (local.set $nv (f32x4.splat (local.get $n)))
    (local.set $cv (f32x4.splat (local.get $c)))
    (block $gd
      (loop $gl
        (br_if $gd (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $width)))
        (local.set $col (i32.shl (local.get $j) (i32.const 2)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $q0 (v128.const i32x4 0 0 0 0))
        (local.set $q1 (v128.const i32x4 0 0 0 0))
        (local.set $q2 (v128.const i32x4 0 0 0 0))
        (local.set $q3 (v128.const i32x4 0 0 0 0))
        (local.set $pg (i32.add (local.get $g) (local.get $col)))
        (local.set $pr (i32.add (local.get $raw) (local.get $col)))
        (local.set $r (local.get $rows))
        (block $sd
          (br_if $sd (i32.eqz (local.get $r)))
          (loop $sl
            (local.set $v (v128.load offset=0 (local.get $pg)))
            (local.set $s0 (f32x4.add (local.get $s0) (local.get $v)))
            (local.set $q0 (f32x4.add (local.get $q0) (f32x4.mul (local.get $v)
              (v128.load offset=0 (local.get $pr)))))
            (local.set $v (v128.load offset=16 (local.get $pg)))
            (local.set $s1 (f32x4.add (local.get $s1) (local.get $v)))
            (local.set $q1 (f32x4.add (local.get $q1) (f32x4.mul (local.get $v)
              (v128.load offset=16 (local.get $pr)))))
            (local.set $v (v128.load offset=32 (local.get $pg)))
            (local.set $s2 (f32x4.add (local.get $s2) (local.get $v)))
            (local.set $q2 (f32x4.add (local.get $q2) (f32x4.mul (local.get $v)
              (v128.load offset=32 (local.get $pr)))))
            (local.set $v (v128.load offset=48 (local.get $pg)))
            (local.set $s3 (f32x4.add (local.get $s3) (local.get $v)))
            (local.set $q3 (f32x4.add (local.get $q3) (f32x4.mul (local.get $v)
              (v128.load offset=48 (local.get $pr)))))
            (local.set $pg (i32.add (local.get $pg) (local.get $rowb)))
            (local.set $pr (i32.add (local.get $pr) (local.get $rowb)))
            (br_if $sl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $k0 (f32x4.div (f32x4.mul (v128.load offset=0 (i32.add (local.get $gain) (local.get $col)))
          (v128.load offset=0 (i32.add (local.get $inv) (local.get $col)))) (local.get $nv)))
        (local.set $k1 (f32x4.div (f32x4.mul (v128.load offset=16 (i32.add (local.get $gain) (local.get $col)))
          (v128.load offset=16 (i32.add (local.get $inv) (local.get $col)))) (local.get $nv)))
        (local.set $k2 (f32x4.div (f32x4.mul (v128.load offset=32 (i32.add (local.get $gain) (local.get $col)))
          (v128.load offset=32 (i32.add (local.get $inv) (local.get $col)))) (local.get $nv)))
        (local.set $k3 (f32x4.div (f32x4.mul (v128.load offset=48 (i32.add (local.get $gain) (local.get $col)))
          (v128.load offset=48 (i32.add (local.get $inv) (local.get $col)))) (local.get $nv)))
        (local.set $pg (i32.add (local.get $g) (local.get $col)))
        (local.set $pr (i32.add (local.get $raw) (local.get $col)))
        (local.set $po (i32.add (local.get $o) (local.get $col)))
        (local.set $r (local.get $rows))
        (block $od
          (br_if $od (i32.eqz (local.get $r)))
          (loop $ol
            (v128.store offset=0 (local.get $po) (f32x4.mul (local.get $k0)
              (f32x4.sub (f32x4.sub (f32x4.mul (v128.load offset=0 (local.get $pg))
                (local.get $nv)) (local.get $s0))
                (f32x4.mul (f32x4.mul (v128.load offset=0 (local.get $pr))
                  (local.get $q0)) (local.get $cv)))))
            (v128.store offset=16 (local.get $po) (f32x4.mul (local.get $k1)
              (f32x4.sub (f32x4.sub (f32x4.mul (v128.load offset=16 (local.get $pg))
                (local.get $nv)) (local.get $s1))
                (f32x4.mul (f32x4.mul (v128.load offset=16 (local.get $pr))
                  (local.get $q1)) (local.get $cv)))))
            (v128.store offset=32 (local.get $po) (f32x4.mul (local.get $k2)
              (f32x4.sub (f32x4.sub (f32x4.mul (v128.load offset=32 (local.get $pg))
                (local.get $nv)) (local.get $s2))
                (f32x4.mul (f32x4.mul (v128.load offset=32 (local.get $pr))
                  (local.get $q2)) (local.get $cv)))))
            (v128.store offset=48 (local.get $po) (f32x4.mul (local.get $k3)
              (f32x4.sub (f32x4.sub (f32x4.mul (v128.load offset=48 (local.get $pg))
                (local.get $nv)) (local.get $s3))
                (f32x4.mul (f32x4.mul (v128.load offset=48 (local.get $pr))
                  (local.get $q3)) (local.get $cv)))))
            (local.set $pg (i32.add (local.get $pg) (local.get $rowb)))
            (local.set $pr (i32.add (local.get $pr) (local.get $rowb)))
            (local.set $po (i32.add (local.get $po) (local.get $rowb)))
            (br_if $ol (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $gl)))
    (block $qd
      (loop $ql
        (br_if $qd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
        (local.set $col (i32.shl (local.get $j) (i32.const 2)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $q0 (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $sd
          (br_if $sd (i32.eqz (local.get $r)))
          (loop $sl
            (local.set $v (v128.load (i32.add (local.get $g) (local.get $p))))
            (local.set $s0 (f32x4.add (local.get $s0) (local.get $v)))
            (local.set $q0 (f32x4.add (local.get $q0) (f32x4.mul (local.get $v)
              (v128.load (i32.add (local.get $raw) (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $sl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $k0 (f32x4.div (f32x4.mul (v128.load (i32.add (local.get $gain) (local.get $col)))
          (v128.load (i32.add (local.get $inv) (local.get $col)))) (local.get $nv)))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $od
          (br_if $od (i32.eqz (local.get $r)))
          (loop $ol
            (v128.store (i32.add (local.get $o) (local.get $p)) (f32x4.mul (local.get $k0)
              (f32x4.sub (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $p)))
                (local.get $nv)) (local.get $s0))
                (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $raw) (local.get $p)))
                  (local.get $q0)) (local.get $cv)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $ol (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $ql)))
    (block $cd
      (loop $cl
        (br_if $cd (i32.ge_u (local.get $j) (local.get $width)))
        (local.set $col (i32.shl (local.get $j) (i32.const 2)))
        (local.set $ss (f32.const 0))
        (local.set $qs (f32.const 0))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $sd
          (br_if $sd (i32.eqz (local.get $r)))
          (loop $sl
            (local.set $gs (f32.load (i32.add (local.get $g) (local.get $p))))
            (local.set $ss (f32.add (local.get $ss) (local.get $gs)))
            (local.set $qs (f32.add (local.get $qs) (f32.mul (local.get $gs)
              (f32.load (i32.add (local.get $raw) (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $sl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $ks (f32.div (f32.mul (f32.load (i32.add (local.get $gain) (local.get $col)))
          (f32.load (i32.add (local.get $inv) (local.get $col)))) (local.get $n)))
        (local.set $p (local.get $col))
        (local.set $r (local.get $rows))
        (block $od
          (br_if $od (i32.eqz (local.get $r)))
          (loop $ol
            (f32.store (i32.add (local.get $o) (local.get $p)) (f32.mul (local.get $ks)
              (f32.sub (f32.sub (f32.mul (f32.load (i32.add (local.get $g) (local.get $p)))
                (local.get $n)) (local.get $ss))
                (f32.mul (f32.mul (f32.load (i32.add (local.get $raw) (local.get $p)))
                  (local.get $qs)) (local.get $c)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $ol (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cl))))

  ;; o[j] = Σ over r of a[r][j]·b[r][j], each product rounded to float32 and the sums taken over
  ;; the rows in order from +0: colsum of the elementwise product, in one pass. Byte offsets;
  ;; sixteen columns at a time, then four, then one.
  (func (export "colsum_mul") (param $a i32) (param $b i32) (param $o i32) (param $rows i32)
    (param $width i32)
    (local $r i32) (local $j i32) (local $p i32) (local $s f32) (local $rowb i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $rowb (i32.shl (local.get $width) (i32.const 2)))
    (block $gd
      (loop $gl
        (br_if $gd (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $width)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.shl (local.get $j) (i32.const 2)))
        (local.set $r (local.get $rows))
        (block $rd
          (br_if $rd (i32.eqz (local.get $r)))
          (loop $rl
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul
              (v128.load offset=0 (i32.add (local.get $a) (local.get $p)))
              (v128.load offset=0 (i32.add (local.get $b) (local.get $p))))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul
              (v128.load offset=16 (i32.add (local.get $a) (local.get $p)))
              (v128.load offset=16 (i32.add (local.get $b) (local.get $p))))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul
              (v128.load offset=32 (i32.add (local.get $a) (local.get $p)))
              (v128.load offset=32 (i32.add (local.get $b) (local.get $p))))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul
              (v128.load offset=48 (i32.add (local.get $a) (local.get $p)))
              (v128.load offset=48 (i32.add (local.get $b) (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $rl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (local.set $p (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2))))
        (v128.store offset=0 (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $a1))
        (v128.store offset=32 (local.get $p) (local.get $a2))
        (v128.store offset=48 (local.get $p) (local.get $a3))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $gl)))
    (block $vd
      (loop $vl
        (br_if $vd (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $width)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.shl (local.get $j) (i32.const 2)))
        (local.set $r (local.get $rows))
        (block $rd
          (br_if $rd (i32.eqz (local.get $r)))
          (loop $rl
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul
              (v128.load (i32.add (local.get $a) (local.get $p)))
              (v128.load (i32.add (local.get $b) (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $rl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (v128.store (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2))) (local.get $a0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $vl)))
    (block $sd
      (loop $sl
        (br_if $sd (i32.ge_u (local.get $j) (local.get $width)))
        (local.set $s (f32.const 0))
        (local.set $p (i32.shl (local.get $j) (i32.const 2)))
        (local.set $r (local.get $rows))
        (block $rd
          (br_if $rd (i32.eqz (local.get $r)))
          (loop $rl
            (local.set $s (f32.add (local.get $s) (f32.mul
              (f32.load (i32.add (local.get $a) (local.get $p)))
              (f32.load (i32.add (local.get $b) (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (local.get $rowb)))
            (br_if $rl (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))
        (f32.store (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $sl))))

  ;; Cross-entropy's forward, every node of its subgraph (ops/nn.ts), for logits (n × classes,
  ;; byte offset $l) and int32 targets ($t, each in [0, classes)), each value as its node's own
  ;; kernel computes it: each row's max and the first column holding it, the shifted logits, their
  ;; exps (the exp kernel), the rows' sums in order from +0, their reciprocals, the probabilities,
  ;; their logs (the log kernel), the picked log-probabilities, their mean (summed in order, times
  ;; $invn, 1/n as float32) and its negation, in float32. $outs holds the byte offsets of the
  ;; eleven results: logit_maxes, the arg-maxes (int32), norm_logits, counts, counts_sum,
  ;; counts_sum_inv, probs, logprobs, picked, picked_mean, loss. When n·classes is odd, exp and
  ;; log (two values at a time) write norm_logits's, counts's, probs's and logprobs's one value
  ;; past their ends.
  (func (export "ce_forward") (param $l i32) (param $t i32) (param $outs i32) (param $n i32)
    (param $classes i32) (param $invn f32)
    (local $maxes i32) (local $args i32) (local $norm i32) (local $counts i32) (local $sums i32)
    (local $inv i32) (local $probs i32) (local $logp i32) (local $picked i32)
    (local $i i32) (local $k i32) (local $row i32) (local $p i32) (local $end i32) (local $arg i32)
    (local $rowb i32) (local $pairs i32) (local $gt i32)
    (local $best f32) (local $v f32) (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32)
    (local $m v128)
    (local.set $maxes (i32.load offset=0 (local.get $outs)))
    (local.set $args (i32.load offset=4 (local.get $outs)))
    (local.set $norm (i32.load offset=8 (local.get $outs)))
    (local.set $counts (i32.load offset=12 (local.get $outs)))
    (local.set $sums (i32.load offset=16 (local.get $outs)))
    (local.set $inv (i32.load offset=20 (local.get $outs)))
    (local.set $probs (i32.load offset=24 (local.get $outs)))
    (local.set $logp (i32.load offset=28 (local.get $outs)))
    (local.set $picked (i32.load offset=32 (local.get $outs)))
    (local.set $rowb (i32.shl (local.get $classes) (i32.const 2)))
    (local.set $pairs (i32.shr_u (i32.add (i32.mul (local.get $n) (local.get $classes))
      (i32.const 1)) (i32.const 1)))
    ;; Each row's max (a NaN in its first column stays the max) and the shifted row.
    (local.set $i (i32.const 0))
    (block $md
      (loop $ml
        (br_if $md (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $row (i32.mul (local.get $i) (local.get $rowb)))
        (local.set $best (f32.load (i32.add (local.get $l) (local.get $row))))
        (local.set $arg (i32.const 0))
        (local.set $k (i32.const 1))
        (block $kd
          (loop $kl
            (br_if $kd (i32.ge_u (local.get $k) (local.get $classes)))
            (local.set $v (f32.load (i32.add (local.get $l)
              (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $gt (f32.gt (local.get $v) (local.get $best)))
            (local.set $best (select (local.get $v) (local.get $best) (local.get $gt)))
            (local.set $arg (select (local.get $k) (local.get $arg) (local.get $gt)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kl)))
        (f32.store (i32.add (local.get $maxes) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (i32.store (i32.add (local.get $args) (i32.shl (local.get $i) (i32.const 2))) (local.get $arg))
        (local.set $m (f32x4.splat (local.get $best)))
        (local.set $p (local.get $row))
        (local.set $end (i32.add (local.get $row) (local.get $rowb)))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
            (v128.store (i32.add (local.get $norm) (local.get $p))
              (f32x4.sub (v128.load (i32.add (local.get $l) (local.get $p))) (local.get $m)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $p) (local.get $end)))
            (f32.store (i32.add (local.get $norm) (local.get $p))
              (f32.sub (f32.load (i32.add (local.get $l) (local.get $p))) (local.get $best)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $sl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ml)))
    (call $exp (local.get $norm) (local.get $counts) (local.get $pairs))
    ;; The rows' sums, each in order from +0: four rows side by side, then one at a time.
    (local.set $i (i32.const 0))
    (block $fd
      (loop $fl
        (br_if $fd (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $p (i32.add (local.get $counts) (i32.mul (local.get $i) (local.get $rowb))))
        (local.set $end (i32.add (local.get $p) (local.get $rowb)))
        (local.set $s0 (f32.const 0))
        (local.set $s1 (f32.const 0))
        (local.set $s2 (f32.const 0))
        (local.set $s3 (f32.const 0))
        (block $kd
          (loop $kl
            (br_if $kd (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $s0 (f32.add (local.get $s0) (f32.load (local.get $p))))
            (local.set $s1 (f32.add (local.get $s1)
              (f32.load (i32.add (local.get $p) (local.get $rowb)))))
            (local.set $s2 (f32.add (local.get $s2)
              (f32.load (i32.add (local.get $p) (i32.shl (local.get $rowb) (i32.const 1))))))
            (local.set $s3 (f32.add (local.get $s3)
              (f32.load (i32.add (local.get $p) (i32.mul (local.get $rowb) (i32.const 3))))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $kl)))
        (local.set $p (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 2))))
        (f32.store offset=0 (local.get $p) (local.get $s0))
        (f32.store offset=4 (local.get $p) (local.get $s1))
        (f32.store offset=8 (local.get $p) (local.get $s2))
        (f32.store offset=12 (local.get $p) (local.get $s3))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $fl)))
    (block $od
      (loop $ol
        (br_if $od (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $counts) (i32.mul (local.get $i) (local.get $rowb))))
        (local.set $end (i32.add (local.get $p) (local.get $rowb)))
        (local.set $s0 (f32.const 0))
        (block $kd
          (loop $kl
            (br_if $kd (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $s0 (f32.add (local.get $s0) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $kl)))
        (f32.store (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 2))) (local.get $s0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ol)))
    ;; Each row's reciprocal, and its probabilities.
    (local.set $i (i32.const 0))
    (block $rd
      (loop $rl
        (br_if $rd (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (f32.div (f32.const 1)
          (f32.load (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 2))))))
        (f32.store (i32.add (local.get $inv) (i32.shl (local.get $i) (i32.const 2))) (local.get $v))
        (local.set $m (f32x4.splat (local.get $v)))
        (local.set $p (i32.mul (local.get $i) (local.get $rowb)))
        (local.set $end (i32.add (local.get $p) (local.get $rowb)))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
            (v128.store (i32.add (local.get $probs) (local.get $p))
              (f32x4.mul (v128.load (i32.add (local.get $counts) (local.get $p))) (local.get $m)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $p) (local.get $end)))
            (f32.store (i32.add (local.get $probs) (local.get $p))
              (f32.mul (f32.load (i32.add (local.get $counts) (local.get $p))) (local.get $v)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $sl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rl)))
    (call $log (local.get $probs) (local.get $logp) (local.get $pairs))
    ;; The picked log-probabilities and their mean.
    (local.set $s0 (f32.const 0))
    (local.set $i (i32.const 0))
    (block $pd
      (loop $pl
        (br_if $pd (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (f32.load (i32.add (local.get $logp) (i32.shl (i32.add
          (i32.mul (local.get $i) (local.get $classes))
          (i32.load (i32.add (local.get $t) (i32.shl (local.get $i) (i32.const 2))))) (i32.const 2)))))
        (f32.store (i32.add (local.get $picked) (i32.shl (local.get $i) (i32.const 2))) (local.get $v))
        (local.set $s0 (f32.add (local.get $s0) (local.get $v)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pl)))
    (local.set $s0 (f32.mul (local.get $s0) (local.get $invn)))
    (f32.store (i32.load offset=36 (local.get $outs)) (local.get $s0))
    (f32.store (i32.load offset=40 (local.get $outs)) (f32.neg (local.get $s0))))

  ;; o's row i = table's row idx[i], for `count` int32 indices ($idx) into a table of rows of d
  ;; float32 values (each index in range): the embedding's lookup, a copy. Byte offsets.
  (func (export "gather_rows") (param $table i32) (param $idx i32) (param $o i32)
    (param $count i32) (param $d i32)
    (local $rowb i32) (local $src i32) (local $end i32)
    (local.set $rowb (i32.shl (local.get $d) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $row
        (local.set $src (i32.add (local.get $table)
          (i32.mul (i32.load (local.get $idx)) (local.get $rowb))))
        (local.set $end (i32.add (local.get $o) (local.get $rowb)))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $end)))
            (v128.store (local.get $o) (v128.load (local.get $src)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $o) (local.get $end)))
            (i32.store (local.get $o) (i32.load (local.get $src)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br $sl)))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (br_if $row (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))))

  ;; The lookup's backward: o (the table's shape, rows of d float32 values) = 0, then, for i in
  ;; order, g's row i added into o's row idx[i] (float32 additions, so a row that several
  ;; indices name sums their rows in order). Byte offsets; `rows` rows in o.
  (func (export "scatter_add_rows") (param $g i32) (param $idx i32) (param $o i32)
    (param $count i32) (param $d i32) (param $rows i32)
    (local $rowb i32) (local $dst i32) (local $end i32)
    (local.set $rowb (i32.shl (local.get $d) (i32.const 2)))
    (memory.fill (local.get $o) (i32.const 0) (i32.mul (local.get $rows) (local.get $rowb)))
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $row
        (local.set $dst (i32.add (local.get $o)
          (i32.mul (i32.load (local.get $idx)) (local.get $rowb))))
        (local.set $end (i32.add (local.get $dst) (local.get $rowb)))
        (block $vd
          (loop $vl
            (br_if $vd (i32.gt_u (i32.add (local.get $dst) (i32.const 16)) (local.get $end)))
            (v128.store (local.get $dst)
              (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $g))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (br $vl)))
        (block $sd
          (loop $sl
            (br_if $sd (i32.ge_u (local.get $dst) (local.get $end)))
            (f32.store (local.get $dst)
              (f32.add (f32.load (local.get $dst)) (f32.load (local.get $g))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (local.set $g (i32.add (local.get $g) (i32.const 4)))
            (br $sl)))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (br_if $row (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))))
)
