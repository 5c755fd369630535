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
}
