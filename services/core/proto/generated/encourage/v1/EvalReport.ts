// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface EvalReport {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  'rank'?: (number);
  'epoch'?: (number);
  'examples'?: (number);
  'lossSum'?: (number | string);
  'baseSum'?: (number | string);
  'bonusSum'?: (number | string);
  'correct'?: (number);
  'binExamples'?: (number | string)[];
  'binCorrect'?: (number | string)[];
  /**
   * SHA-256 (hex, 16 chars) of the rank's parameters after the epoch: data-parallel replicas must
   * hold bit-identical weights, and the coordinator checks that they do.
   */
  'paramsDigest'?: (string);
}

export interface EvalReport__Output {
  'workerId': (string);
  'generation': (number);
  'rank': (number);
  'epoch': (number);
  'examples': (number);
  'lossSum': (number);
  'baseSum': (number);
  'bonusSum': (number);
  'correct': (number);
  'binExamples': (number)[];
  'binCorrect': (number)[];
  /**
   * SHA-256 (hex, 16 chars) of the rank's parameters after the epoch: data-parallel replicas must
   * hold bit-identical weights, and the coordinator checks that they do.
   */
  'paramsDigest': (string);
}
