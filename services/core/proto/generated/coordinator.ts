import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _encourage_v1_Ack, Ack__Output as _encourage_v1_Ack__Output } from './encourage/v1/Ack.js';
import type { Assignment as _encourage_v1_Assignment, Assignment__Output as _encourage_v1_Assignment__Output } from './encourage/v1/Assignment.js';
import type { CheckpointAck as _encourage_v1_CheckpointAck, CheckpointAck__Output as _encourage_v1_CheckpointAck__Output } from './encourage/v1/CheckpointAck.js';
import type { CheckpointChunk as _encourage_v1_CheckpointChunk, CheckpointChunk__Output as _encourage_v1_CheckpointChunk__Output } from './encourage/v1/CheckpointChunk.js';
import type { CoordinatorClient as _encourage_v1_CoordinatorClient, CoordinatorDefinition as _encourage_v1_CoordinatorDefinition } from './encourage/v1/Coordinator.js';
import type { DescribeRunRequest as _encourage_v1_DescribeRunRequest, DescribeRunRequest__Output as _encourage_v1_DescribeRunRequest__Output } from './encourage/v1/DescribeRunRequest.js';
import type { EpochPlan as _encourage_v1_EpochPlan, EpochPlan__Output as _encourage_v1_EpochPlan__Output } from './encourage/v1/EpochPlan.js';
import type { EpochPlanRequest as _encourage_v1_EpochPlanRequest, EpochPlanRequest__Output as _encourage_v1_EpochPlanRequest__Output } from './encourage/v1/EpochPlanRequest.js';
import type { EvalReport as _encourage_v1_EvalReport, EvalReport__Output as _encourage_v1_EvalReport__Output } from './encourage/v1/EvalReport.js';
import type { FetchCheckpointRequest as _encourage_v1_FetchCheckpointRequest, FetchCheckpointRequest__Output as _encourage_v1_FetchCheckpointRequest__Output } from './encourage/v1/FetchCheckpointRequest.js';
import type { HeartbeatRequest as _encourage_v1_HeartbeatRequest, HeartbeatRequest__Output as _encourage_v1_HeartbeatRequest__Output } from './encourage/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _encourage_v1_HeartbeatResponse, HeartbeatResponse__Output as _encourage_v1_HeartbeatResponse__Output } from './encourage/v1/HeartbeatResponse.js';
import type { LeaveRequest as _encourage_v1_LeaveRequest, LeaveRequest__Output as _encourage_v1_LeaveRequest__Output } from './encourage/v1/LeaveRequest.js';
import type { RegisterRequest as _encourage_v1_RegisterRequest, RegisterRequest__Output as _encourage_v1_RegisterRequest__Output } from './encourage/v1/RegisterRequest.js';
import type { RegisterResponse as _encourage_v1_RegisterResponse, RegisterResponse__Output as _encourage_v1_RegisterResponse__Output } from './encourage/v1/RegisterResponse.js';
import type { RunDescription as _encourage_v1_RunDescription, RunDescription__Output as _encourage_v1_RunDescription__Output } from './encourage/v1/RunDescription.js';
import type { StepReport as _encourage_v1_StepReport, StepReport__Output as _encourage_v1_StepReport__Output } from './encourage/v1/StepReport.js';
import type { WaitAssignmentRequest as _encourage_v1_WaitAssignmentRequest, WaitAssignmentRequest__Output as _encourage_v1_WaitAssignmentRequest__Output } from './encourage/v1/WaitAssignmentRequest.js';
import type { WorkerInfo as _encourage_v1_WorkerInfo, WorkerInfo__Output as _encourage_v1_WorkerInfo__Output } from './encourage/v1/WorkerInfo.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  encourage: {
    v1: {
      Ack: MessageTypeDefinition<_encourage_v1_Ack, _encourage_v1_Ack__Output>
      Assignment: MessageTypeDefinition<_encourage_v1_Assignment, _encourage_v1_Assignment__Output>
      CheckpointAck: MessageTypeDefinition<_encourage_v1_CheckpointAck, _encourage_v1_CheckpointAck__Output>
      CheckpointChunk: MessageTypeDefinition<_encourage_v1_CheckpointChunk, _encourage_v1_CheckpointChunk__Output>
      Coordinator: SubtypeConstructor<typeof grpc.Client, _encourage_v1_CoordinatorClient> & { service: _encourage_v1_CoordinatorDefinition }
      DescribeRunRequest: MessageTypeDefinition<_encourage_v1_DescribeRunRequest, _encourage_v1_DescribeRunRequest__Output>
      EpochPlan: MessageTypeDefinition<_encourage_v1_EpochPlan, _encourage_v1_EpochPlan__Output>
      EpochPlanRequest: MessageTypeDefinition<_encourage_v1_EpochPlanRequest, _encourage_v1_EpochPlanRequest__Output>
      EvalReport: MessageTypeDefinition<_encourage_v1_EvalReport, _encourage_v1_EvalReport__Output>
      FetchCheckpointRequest: MessageTypeDefinition<_encourage_v1_FetchCheckpointRequest, _encourage_v1_FetchCheckpointRequest__Output>
      HeartbeatRequest: MessageTypeDefinition<_encourage_v1_HeartbeatRequest, _encourage_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_encourage_v1_HeartbeatResponse, _encourage_v1_HeartbeatResponse__Output>
      LeaveRequest: MessageTypeDefinition<_encourage_v1_LeaveRequest, _encourage_v1_LeaveRequest__Output>
      RegisterRequest: MessageTypeDefinition<_encourage_v1_RegisterRequest, _encourage_v1_RegisterRequest__Output>
      RegisterResponse: MessageTypeDefinition<_encourage_v1_RegisterResponse, _encourage_v1_RegisterResponse__Output>
      RunDescription: MessageTypeDefinition<_encourage_v1_RunDescription, _encourage_v1_RunDescription__Output>
      StepReport: MessageTypeDefinition<_encourage_v1_StepReport, _encourage_v1_StepReport__Output>
      WaitAssignmentRequest: MessageTypeDefinition<_encourage_v1_WaitAssignmentRequest, _encourage_v1_WaitAssignmentRequest__Output>
      WorkerInfo: MessageTypeDefinition<_encourage_v1_WorkerInfo, _encourage_v1_WorkerInfo__Output>
    }
  }
}

