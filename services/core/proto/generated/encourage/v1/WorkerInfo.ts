// Original file: encourage/v1/coordinator.proto


export interface WorkerInfo {
  /**
   * host:port of the worker's Collective service, reachable by its ring neighbours.
   */
  'collectiveAddress'?: (string);
  /**
   * Pod (or host) name: ranks of one pod are placed next to each other in the ring.
   */
  'pod'?: (string);
  /**
   * Local process index within the pod (GPU index when there are GPUs).
   */
  'localIndex'?: (number);
  /**
   * Backend the worker will compute on (tensorflow, webgpu, wasm, cpu).
   */
  'backend'?: (string);
  /**
   * Hash of the model and loss configuration the worker was started for (empty: take the run's).
   */
  'configFingerprint'?: (string);
  /**
   * Sizes of the dataset the worker loaded; every worker of a run must see the same data.
   */
  'trainExamples'?: (number);
  'testExamples'?: (number);
  /**
   * The device it computes on, one line: the GPU adapter (vendor, device, description; marked
   * "(software)" for lavapipe and the like), or "cpu".
   */
  'device'?: (string);
}

export interface WorkerInfo__Output {
  /**
   * host:port of the worker's Collective service, reachable by its ring neighbours.
   */
  'collectiveAddress': (string);
  /**
   * Pod (or host) name: ranks of one pod are placed next to each other in the ring.
   */
  'pod': (string);
  /**
   * Local process index within the pod (GPU index when there are GPUs).
   */
  'localIndex': (number);
  /**
   * Backend the worker will compute on (tensorflow, webgpu, wasm, cpu).
   */
  'backend': (string);
  /**
   * Hash of the model and loss configuration the worker was started for (empty: take the run's).
   */
  'configFingerprint': (string);
  /**
   * Sizes of the dataset the worker loaded; every worker of a run must see the same data.
   */
  'trainExamples': (number);
  'testExamples': (number);
  /**
   * The device it computes on, one line: the GPU adapter (vendor, device, description; marked
   * "(software)" for lavapipe and the like), or "cpu".
   */
  'device': (string);
}
