// Original file: encourage/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Ack as _encourage_v1_Ack, Ack__Output as _encourage_v1_Ack__Output } from '../../encourage/v1/Ack.js';
import type { Assignment as _encourage_v1_Assignment, Assignment__Output as _encourage_v1_Assignment__Output } from '../../encourage/v1/Assignment.js';
import type { CheckpointAck as _encourage_v1_CheckpointAck, CheckpointAck__Output as _encourage_v1_CheckpointAck__Output } from '../../encourage/v1/CheckpointAck.js';
import type { CheckpointChunk as _encourage_v1_CheckpointChunk, CheckpointChunk__Output as _encourage_v1_CheckpointChunk__Output } from '../../encourage/v1/CheckpointChunk.js';
import type { DescribeRunRequest as _encourage_v1_DescribeRunRequest, DescribeRunRequest__Output as _encourage_v1_DescribeRunRequest__Output } from '../../encourage/v1/DescribeRunRequest.js';
import type { EpochPlan as _encourage_v1_EpochPlan, EpochPlan__Output as _encourage_v1_EpochPlan__Output } from '../../encourage/v1/EpochPlan.js';
import type { EpochPlanRequest as _encourage_v1_EpochPlanRequest, EpochPlanRequest__Output as _encourage_v1_EpochPlanRequest__Output } from '../../encourage/v1/EpochPlanRequest.js';
import type { EvalReport as _encourage_v1_EvalReport, EvalReport__Output as _encourage_v1_EvalReport__Output } from '../../encourage/v1/EvalReport.js';
import type { FetchCheckpointRequest as _encourage_v1_FetchCheckpointRequest, FetchCheckpointRequest__Output as _encourage_v1_FetchCheckpointRequest__Output } from '../../encourage/v1/FetchCheckpointRequest.js';
import type { HeartbeatRequest as _encourage_v1_HeartbeatRequest, HeartbeatRequest__Output as _encourage_v1_HeartbeatRequest__Output } from '../../encourage/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _encourage_v1_HeartbeatResponse, HeartbeatResponse__Output as _encourage_v1_HeartbeatResponse__Output } from '../../encourage/v1/HeartbeatResponse.js';
import type { LeaveRequest as _encourage_v1_LeaveRequest, LeaveRequest__Output as _encourage_v1_LeaveRequest__Output } from '../../encourage/v1/LeaveRequest.js';
import type { RegisterRequest as _encourage_v1_RegisterRequest, RegisterRequest__Output as _encourage_v1_RegisterRequest__Output } from '../../encourage/v1/RegisterRequest.js';
import type { RegisterResponse as _encourage_v1_RegisterResponse, RegisterResponse__Output as _encourage_v1_RegisterResponse__Output } from '../../encourage/v1/RegisterResponse.js';
import type { RunDescription as _encourage_v1_RunDescription, RunDescription__Output as _encourage_v1_RunDescription__Output } from '../../encourage/v1/RunDescription.js';
import type { StepReport as _encourage_v1_StepReport, StepReport__Output as _encourage_v1_StepReport__Output } from '../../encourage/v1/StepReport.js';
import type { WaitAssignmentRequest as _encourage_v1_WaitAssignmentRequest, WaitAssignmentRequest__Output as _encourage_v1_WaitAssignmentRequest__Output } from '../../encourage/v1/WaitAssignmentRequest.js';

export interface CoordinatorClient extends grpc.Client {
  /**
   * The run's resolved configuration (JSON), so that every worker trains with exactly the
   * coordinator's settings; a worker reads it first, loads its data, then registers.
   */
  DescribeRun(argument: _encourage_v1_DescribeRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  DescribeRun(argument: _encourage_v1_DescribeRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  DescribeRun(argument: _encourage_v1_DescribeRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  DescribeRun(argument: _encourage_v1_DescribeRunRequest, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  /**
   * The run's resolved configuration (JSON), so that every worker trains with exactly the
   * coordinator's settings; a worker reads it first, loads its data, then registers.
   */
  describeRun(argument: _encourage_v1_DescribeRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  describeRun(argument: _encourage_v1_DescribeRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  describeRun(argument: _encourage_v1_DescribeRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  describeRun(argument: _encourage_v1_DescribeRunRequest, callback: grpc.requestCallback<_encourage_v1_RunDescription__Output>): grpc.ClientUnaryCall;
  
  /**
   * The newest checkpoint, streamed to the rank that restores the run's state from it (after a
   * coordinator restart); it then broadcasts the state to the ring.
   */
  FetchCheckpoint(argument: _encourage_v1_FetchCheckpointRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_CheckpointChunk__Output>;
  FetchCheckpoint(argument: _encourage_v1_FetchCheckpointRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_CheckpointChunk__Output>;
  /**
   * The newest checkpoint, streamed to the rank that restores the run's state from it (after a
   * coordinator restart); it then broadcasts the state to the ring.
   */
  fetchCheckpoint(argument: _encourage_v1_FetchCheckpointRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_CheckpointChunk__Output>;
  fetchCheckpoint(argument: _encourage_v1_FetchCheckpointRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_CheckpointChunk__Output>;
  
  /**
   * The shard of one epoch for the caller's rank: sample indices and per-step learning rates.
   */
  GetEpochPlan(argument: _encourage_v1_EpochPlanRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  GetEpochPlan(argument: _encourage_v1_EpochPlanRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  GetEpochPlan(argument: _encourage_v1_EpochPlanRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  GetEpochPlan(argument: _encourage_v1_EpochPlanRequest, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  /**
   * The shard of one epoch for the caller's rank: sample indices and per-step learning rates.
   */
  getEpochPlan(argument: _encourage_v1_EpochPlanRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  getEpochPlan(argument: _encourage_v1_EpochPlanRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  getEpochPlan(argument: _encourage_v1_EpochPlanRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  getEpochPlan(argument: _encourage_v1_EpochPlanRequest, callback: grpc.requestCallback<_encourage_v1_EpochPlan__Output>): grpc.ClientUnaryCall;
  
  /**
   * Liveness; the reply tells the worker the current generation and whether the run is over.
   */
  Heartbeat(argument: _encourage_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _encourage_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _encourage_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _encourage_v1_HeartbeatRequest, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Liveness; the reply tells the worker the current generation and whether the run is over.
   */
  heartbeat(argument: _encourage_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _encourage_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _encourage_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _encourage_v1_HeartbeatRequest, callback: grpc.requestCallback<_encourage_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Leave the run (done, or a clean shutdown on SIGTERM).
   */
  Leave(argument: _encourage_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  Leave(argument: _encourage_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  Leave(argument: _encourage_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  Leave(argument: _encourage_v1_LeaveRequest, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  /**
   * Leave the run (done, or a clean shutdown on SIGTERM).
   */
  leave(argument: _encourage_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  leave(argument: _encourage_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  leave(argument: _encourage_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  leave(argument: _encourage_v1_LeaveRequest, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  
  /**
   * Join the run.
   */
  Register(argument: _encourage_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _encourage_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _encourage_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _encourage_v1_RegisterRequest, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Join the run.
   */
  register(argument: _encourage_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _encourage_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _encourage_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _encourage_v1_RegisterRequest, callback: grpc.requestCallback<_encourage_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Evaluation sums of the caller's part of the test set.
   */
  ReportEval(argument: _encourage_v1_EvalReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  ReportEval(argument: _encourage_v1_EvalReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  ReportEval(argument: _encourage_v1_EvalReport, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  ReportEval(argument: _encourage_v1_EvalReport, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  /**
   * Evaluation sums of the caller's part of the test set.
   */
  reportEval(argument: _encourage_v1_EvalReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  reportEval(argument: _encourage_v1_EvalReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  reportEval(argument: _encourage_v1_EvalReport, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  reportEval(argument: _encourage_v1_EvalReport, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  
  /**
   * Per-step sums from every rank; the coordinator merges them into the run's metrics.
   */
  ReportStep(argument: _encourage_v1_StepReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  ReportStep(argument: _encourage_v1_StepReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  ReportStep(argument: _encourage_v1_StepReport, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  ReportStep(argument: _encourage_v1_StepReport, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  /**
   * Per-step sums from every rank; the coordinator merges them into the run's metrics.
   */
  reportStep(argument: _encourage_v1_StepReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  reportStep(argument: _encourage_v1_StepReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  reportStep(argument: _encourage_v1_StepReport, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  reportStep(argument: _encourage_v1_StepReport, callback: grpc.requestCallback<_encourage_v1_Ack__Output>): grpc.ClientUnaryCall;
  
  /**
   * Rank 0 streams the replica state; the coordinator writes it atomically.
   */
  UploadCheckpoint(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  UploadCheckpoint(metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  UploadCheckpoint(options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  UploadCheckpoint(callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  /**
   * Rank 0 streams the replica state; the coordinator writes it atomically.
   */
  uploadCheckpoint(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  uploadCheckpoint(metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  uploadCheckpoint(options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  uploadCheckpoint(callback: grpc.requestCallback<_encourage_v1_CheckpointAck__Output>): grpc.ClientWritableStream<_encourage_v1_CheckpointChunk>;
  
  /**
   * Long poll: answers as soon as the caller has an assignment newer than `known_generation`
   * (or the run finished), else at the call's deadline with the current state.
   */
  WaitAssignment(argument: _encourage_v1_WaitAssignmentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  WaitAssignment(argument: _encourage_v1_WaitAssignmentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  WaitAssignment(argument: _encourage_v1_WaitAssignmentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  WaitAssignment(argument: _encourage_v1_WaitAssignmentRequest, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  /**
   * Long poll: answers as soon as the caller has an assignment newer than `known_generation`
   * (or the run finished), else at the call's deadline with the current state.
   */
  waitAssignment(argument: _encourage_v1_WaitAssignmentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  waitAssignment(argument: _encourage_v1_WaitAssignmentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  waitAssignment(argument: _encourage_v1_WaitAssignmentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  waitAssignment(argument: _encourage_v1_WaitAssignmentRequest, callback: grpc.requestCallback<_encourage_v1_Assignment__Output>): grpc.ClientUnaryCall;
  
}

export interface CoordinatorHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The run's resolved configuration (JSON), so that every worker trains with exactly the
   * coordinator's settings; a worker reads it first, loads its data, then registers.
   */
  DescribeRun: grpc.handleUnaryCall<_encourage_v1_DescribeRunRequest__Output, _encourage_v1_RunDescription>;
  
  /**
   * The newest checkpoint, streamed to the rank that restores the run's state from it (after a
   * coordinator restart); it then broadcasts the state to the ring.
   */
  FetchCheckpoint: grpc.handleServerStreamingCall<_encourage_v1_FetchCheckpointRequest__Output, _encourage_v1_CheckpointChunk>;
  
  /**
   * The shard of one epoch for the caller's rank: sample indices and per-step learning rates.
   */
  GetEpochPlan: grpc.handleUnaryCall<_encourage_v1_EpochPlanRequest__Output, _encourage_v1_EpochPlan>;
  
  /**
   * Liveness; the reply tells the worker the current generation and whether the run is over.
   */
  Heartbeat: grpc.handleUnaryCall<_encourage_v1_HeartbeatRequest__Output, _encourage_v1_HeartbeatResponse>;
  
  /**
   * Leave the run (done, or a clean shutdown on SIGTERM).
   */
  Leave: grpc.handleUnaryCall<_encourage_v1_LeaveRequest__Output, _encourage_v1_Ack>;
  
  /**
   * Join the run.
   */
  Register: grpc.handleUnaryCall<_encourage_v1_RegisterRequest__Output, _encourage_v1_RegisterResponse>;
  
  /**
   * Evaluation sums of the caller's part of the test set.
   */
  ReportEval: grpc.handleUnaryCall<_encourage_v1_EvalReport__Output, _encourage_v1_Ack>;
  
  /**
   * Per-step sums from every rank; the coordinator merges them into the run's metrics.
   */
  ReportStep: grpc.handleUnaryCall<_encourage_v1_StepReport__Output, _encourage_v1_Ack>;
  
  /**
   * Rank 0 streams the replica state; the coordinator writes it atomically.
   */
  UploadCheckpoint: grpc.handleClientStreamingCall<_encourage_v1_CheckpointChunk__Output, _encourage_v1_CheckpointAck>;
  
  /**
   * Long poll: answers as soon as the caller has an assignment newer than `known_generation`
   * (or the run finished), else at the call's deadline with the current state.
   */
  WaitAssignment: grpc.handleUnaryCall<_encourage_v1_WaitAssignmentRequest__Output, _encourage_v1_Assignment>;
  
}

export interface CoordinatorDefinition extends grpc.ServiceDefinition {
  DescribeRun: MethodDefinition<_encourage_v1_DescribeRunRequest, _encourage_v1_RunDescription, _encourage_v1_DescribeRunRequest__Output, _encourage_v1_RunDescription__Output>
  FetchCheckpoint: MethodDefinition<_encourage_v1_FetchCheckpointRequest, _encourage_v1_CheckpointChunk, _encourage_v1_FetchCheckpointRequest__Output, _encourage_v1_CheckpointChunk__Output>
  GetEpochPlan: MethodDefinition<_encourage_v1_EpochPlanRequest, _encourage_v1_EpochPlan, _encourage_v1_EpochPlanRequest__Output, _encourage_v1_EpochPlan__Output>
  Heartbeat: MethodDefinition<_encourage_v1_HeartbeatRequest, _encourage_v1_HeartbeatResponse, _encourage_v1_HeartbeatRequest__Output, _encourage_v1_HeartbeatResponse__Output>
  Leave: MethodDefinition<_encourage_v1_LeaveRequest, _encourage_v1_Ack, _encourage_v1_LeaveRequest__Output, _encourage_v1_Ack__Output>
  Register: MethodDefinition<_encourage_v1_RegisterRequest, _encourage_v1_RegisterResponse, _encourage_v1_RegisterRequest__Output, _encourage_v1_RegisterResponse__Output>
  ReportEval: MethodDefinition<_encourage_v1_EvalReport, _encourage_v1_Ack, _encourage_v1_EvalReport__Output, _encourage_v1_Ack__Output>
  ReportStep: MethodDefinition<_encourage_v1_StepReport, _encourage_v1_Ack, _encourage_v1_StepReport__Output, _encourage_v1_Ack__Output>
  UploadCheckpoint: MethodDefinition<_encourage_v1_CheckpointChunk, _encourage_v1_CheckpointAck, _encourage_v1_CheckpointChunk__Output, _encourage_v1_CheckpointAck__Output>
  WaitAssignment: MethodDefinition<_encourage_v1_WaitAssignmentRequest, _encourage_v1_Assignment, _encourage_v1_WaitAssignmentRequest__Output, _encourage_v1_Assignment__Output>
}
