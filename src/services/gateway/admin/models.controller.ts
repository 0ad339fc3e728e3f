// Admin API for the model registry (scope `admin`), the HTTP face of
// `outerloop models list|register|promote`:
//   GET  /v1/admin/models                      policy versions, and which one serves
//   GET  /v1/admin/models?kind=reward          reward-model versions (every status), newest first
//   POST /v1/admin/models {"artifactDir": DIR}  register an artifact directory the
//                                               gateway can read (e.g. on the shared volume)
//   POST /v1/admin/models/:version/promote {"reason"?: "…"}
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { MODEL_STATUSES } from '../../../domain/models.js';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import type { EventBus } from '../../../platform/messaging/event-bus.js';
import type { IDeploymentRepository, IModelRegistryRepository, ITransactionRunner } from '../../../platform/persistence/repositories/index.js';
import { ARTIFACT_STORE, DEPLOYMENT_REPOSITORY, EVENT_BUS, MODEL_REGISTRY_REPOSITORY, TRANSACTION_RUNNER } from '../../../platform/tokens.js';
import { callerOf } from '../auth/request-caller.js';
import { GatewayError } from '../errors.js';
import { listPolicies, ModelRegistryError, promotePolicy, registerPolicy, type RegistryRepositories } from './model-registry.js';

const RegisterBody = z.object({ artifactDir: z.string().min(1) }).strict();
const PromoteBody = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw GatewayError.invalid(issue.path.join('.') || null, `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

function registryError(err: unknown): unknown {
  if (!(err instanceof ModelRegistryError)) return err;
  if (err.code === 'version_not_found') return new GatewayError(404, 'not_found_error', err.message, 'version', err.code);
  if (err.code === 'version_final') return new GatewayError(409, 'invalid_request_error', err.message, 'version', err.code);
  return GatewayError.invalid('artifactDir', err.message, err.code);
}

@Controller('v1/admin/models')
export class ModelsController {
  private readonly repos: RegistryRepositories;

  constructor(
    @Inject(MODEL_REGISTRY_REPOSITORY) modelRegistry: IModelRegistryRepository,
    @Inject(DEPLOYMENT_REPOSITORY) deployments: IDeploymentRepository,
    @Inject(TRANSACTION_RUNNER) transactions: ITransactionRunner,
    @Inject(ARTIFACT_STORE) private readonly artifacts: ArtifactStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {
    this.repos = { modelRegistry, deployments, transactions };
  }

  @Get()
  async list(@Query('kind') kind?: string): Promise<unknown> {
    if (kind === undefined || kind === 'policy') return { object: 'list', data: await listPolicies(this.repos) };
    if (kind !== 'reward') throw GatewayError.invalid('kind', `kind: must be policy or reward, got ${JSON.stringify(kind)}`);
    const rows = (await Promise.all(MODEL_STATUSES.map((s) => this.repos.modelRegistry.findByStatus('reward', s)))).flat();
    rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.id.localeCompare(b.id));
    return { object: 'list', data: rows };
  }

  @Post()
  @HttpCode(201)
  async register(@Body() body: unknown): Promise<unknown> {
    const { artifactDir } = parseBody(RegisterBody, body);
    return registerPolicy(this.repos, this.artifacts, this.bus, artifactDir).catch((err: unknown) => Promise.reject(registryError(err)));
  }

  @Post(':version/promote')
  @HttpCode(200)
  async promote(@Req() request: FastifyRequest, @Param('version') version: string, @Body() body: unknown): Promise<unknown> {
    const caller = callerOf(request); // scope admin: ROUTE_SCOPES (http/gateway-hooks.ts)
    const { reason } = parseBody(PromoteBody, body);
    const why = reason ?? `promoted through the admin API by ${caller.apiKeyId ?? 'an open gateway'}`;
    return promotePolicy(this.repos, this.bus, version, why).catch((err: unknown) => Promise.reject(registryError(err)));
  }
}
