// Original file: encourage/v1/coordinator.proto


export interface RegisterResponse {
  'workerId'?: (string);
  'heartbeatIntervalMs'?: (number);
}

export interface RegisterResponse__Output {
  'workerId': (string);
  'heartbeatIntervalMs': (number);
}
