// The jobs admin API, served by the gateway role (its request hooks check the admin
// scope). JobQueue comes from the global PlatformModule.
import { Module } from '@nestjs/common';
import { JobsAdminController } from './jobs-admin.controller.js';

@Module({ controllers: [JobsAdminController] })
export class AdminModule {}
