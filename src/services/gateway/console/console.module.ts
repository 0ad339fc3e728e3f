// The web console (chat with feedback and side-by-side votes), served by the gateway
// role: no separate server, the same keys and scopes as the API.
import { Module } from '@nestjs/common';
import { ConsoleRoutes } from './console.routes.js';

@Module({ providers: [ConsoleRoutes] })
export class ConsoleModule {}
