// The layering rules of docs/architecture.md ("Layers and their rules"), checked by
// dependency-cruiser in `npm test` (tests/unit/architecture/layering.test.ts).
//
// Every rule is also tested against a planted violation, and `every-file-in-a-layer`
// makes a file outside the known layers an error: a rule for a layer that has no files
// yet cannot hide a misplaced file, because the file would not be in any layer.

/** Layers that are plain TypeScript: no framework, no adapters, no process.env (checked separately). */
const PURE = '^src/(domain|engine|rlhf|evaluation|scenario)/';
/** Frameworks and adapters that only platform/ and services/ (and the CLI) may use. */
const EDGE_PACKAGES = [
  '^@nestjs/',
  '^kafkajs$',
  '^typeorm$',
  '^pg$',
  '^better-sqlite3$',
  '^prom-client$',
  '^fastify$',
  '^@fastify/',
  '^rxjs$',
  '^reflect-metadata$',
];
const LAYERS = '^src/(domain|engine|rlhf|evaluation|scenario|platform|services|config|cli)/|^src/main\\.ts$';
const EDGE_CODE = '^src/(platform|services|config|cli)/|^src/main\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'pure-layer-imports-edge-code',
      comment: 'domain, engine, rlhf, evaluation and scenario import nothing from platform, services, config or the CLI',
      severity: 'error',
      from: { path: PURE },
      to: { path: EDGE_CODE },
    },
    {
      name: 'pure-layer-imports-framework',
      comment: 'Nest, Kafka, TypeORM, the database drivers, Fastify and prom-client live only at the edges',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], path: EDGE_PACKAGES.map((p) => p.replace('^', '(^|/)node_modules/').replace('$', '(/|$)')) },
    },
    {
      name: 'engine-knows-no-algorithm',
      comment: 'the engine imports no rlhf, evaluation or scenario: a loss is a parameter of the training graph',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(rlhf|evaluation|scenario)/' },
    },
    {
      name: 'domain-imports-only-domain',
      comment: 'the domain vocabulary depends on nothing but itself (and zod)',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'platform-imports-no-service',
      comment: 'adapters never reach into the services that use them',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/services/' },
    },
    {
      name: 'service-imports-another-service',
      comment: 'services meet on topics, tables and repositories, never by importing each other',
      severity: 'error',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/', pathNot: ['^src/services/$1/', '^src/services/[^/]+\\.ts$'] },
    },
    {
      name: 'no-cycles',
      comment:
        'TypeORM entities are the one exception: a relation in both directions (a training run starts from a model version and produces one) ' +
        'is declared with lazy `() => Entity` references, which TypeORM resolves after every entity module has loaded',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/platform/persistence/entities/[^/]+\\.entity\\.ts$' },
      to: { circular: true },
    },
    {
      name: 'file-system-only-in-io-adapters',
      comment: 'node:fs only where artifacts, the database file and the spool are written, and in the CLI',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: ['^src/engine/artifact/', '^src/platform/(artifacts|persistence|spool|web-assets)/', '^src/cli/', '^src/main\\.ts$'],
      },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve is a typo or a missing dependency',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  allowed: [
    {
      comment: 'every-file-in-a-layer: a file outside these folders is in no layer, so no rule above would see it',
      from: { path: LAYERS },
      to: { path: [LAYERS, '(^|/)node_modules/'] },
    },
    {
      comment: 'node built-ins are allowed everywhere (node:fs is restricted by file-system-only-in-io-adapters)',
      from: { path: LAYERS },
      to: { dependencyTypes: ['core'] },
    },
  ],
  allowedSeverity: 'error',
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|tests|migrations)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
