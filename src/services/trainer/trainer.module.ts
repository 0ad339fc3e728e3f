// The trainer role: the worker for training jobs (SFT, reward model, PPO, DPO,
// best-of-n). This module is the role's skeleton: it takes part in the process's
// health, metrics and shutdown; job handling arrives with the training issues.
import { Module } from '@nestjs/common';
import { RoleHeartbeat, roleHeartbeatProvider } from '../role-heartbeat.js';

@Module({ providers: [roleHeartbeatProvider('trainer')], exports: [RoleHeartbeat] })
export class TrainerModule {}
