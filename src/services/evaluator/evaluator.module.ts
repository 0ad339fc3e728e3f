// The evaluator role: the worker for evaluation jobs (suites, divergence
// detection, gate verdicts). Skeleton: health, metrics and shutdown; the
// evaluation jobs arrive with the evaluation issues.
import { Module } from '@nestjs/common';
import { RoleHeartbeat, roleHeartbeatProvider } from '../role-heartbeat.js';

@Module({ providers: [roleHeartbeatProvider('evaluator')], exports: [RoleHeartbeat] })
export class EvaluatorModule {}
