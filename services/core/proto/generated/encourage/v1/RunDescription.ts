// Original file: encourage/v1/coordinator.proto


export interface RunDescription {
  'experiment'?: (string);
  /**
   * The run's TrainConfig as JSON.
   */
  'configJson'?: (string);
  /**
   * Fingerprint of model and loss (see configFingerprint); workers echo it when registering.
   */
  'configFingerprint'?: (string);
}

export interface RunDescription__Output {
  'experiment': (string);
  /**
   * The run's TrainConfig as JSON.
   */
  'configJson': (string);
  /**
   * Fingerprint of model and loss (see configFingerprint); workers echo it when registering.
   */
  'configFingerprint': (string);
}
