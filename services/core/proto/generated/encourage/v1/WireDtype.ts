// Original file: encourage/v1/collective.proto

/**
 * Element encoding of `TensorChunk.data` on the wire. Reduction always accumulates in float32
 * (like Horovod's fp16 compression): float16 only halves the bytes in flight.
 */
export const WireDtype = {
  WIRE_DTYPE_UNSPECIFIED: 'WIRE_DTYPE_UNSPECIFIED',
  WIRE_DTYPE_FLOAT32: 'WIRE_DTYPE_FLOAT32',
  WIRE_DTYPE_FLOAT16: 'WIRE_DTYPE_FLOAT16',
} as const;

/**
 * Element encoding of `TensorChunk.data` on the wire. Reduction always accumulates in float32
 * (like Horovod's fp16 compression): float16 only halves the bytes in flight.
 */
export type WireDtype =
  | 'WIRE_DTYPE_UNSPECIFIED'
  | 0
  | 'WIRE_DTYPE_FLOAT32'
  | 1
  | 'WIRE_DTYPE_FLOAT16'
  | 2

/**
 * Element encoding of `TensorChunk.data` on the wire. Reduction always accumulates in float32
 * (like Horovod's fp16 compression): float16 only halves the bytes in flight.
 */
export type WireDtype__Output = typeof WireDtype[keyof typeof WireDtype]
