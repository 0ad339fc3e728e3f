// The orchestrator role: the schedule and the loop state machine (snapshot →
// reward model → PPO → evaluate → gate → canary → promote | rollback). Skeleton:
// the scheduler is wired (@nestjs/schedule) so the loop's cron lands here.
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { RoleHeartbeat, roleHeartbeatProvider } from '../role-heartbeat.js';

@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [roleHeartbeatProvider('orchestrator')],
  exports: [RoleHeartbeat],
})
export class OrchestratorModule {}
