// Original file: encourage/v1/coordinator.proto


export interface DescribeRunRequest {
  'joinToken'?: (string);
}

export interface DescribeRunRequest__Output {
  'joinToken': (string);
}
