// Original file: encourage/v1/coordinator.proto


export interface RegisterResponse {
  'workerId'?: (string);
  'experiment'?: (string);
  /**
   * The run's TrainConfig as JSON.
   */
  'configJson'?: (string);
  'heartbeatIntervalMs'?: (number);
}

export interface RegisterResponse__Output {
  'workerId': (string);
  'experiment': (string);
  /**
   * The run's TrainConfig as JSON.
   */
  'configJson': (string);
  'heartbeatIntervalMs': (number);
}
