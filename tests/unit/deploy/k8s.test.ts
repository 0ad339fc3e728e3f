// deploy/k8s/*.yaml: valid Kubernetes 1.33 objects (kubeconform, strict, against the
// vendored schemas in deploy/k8s/schemas) and the properties the deployment relies
// on: non-root pods with fsGroup, read-only root filesystems, resources, readiness on
// /readyz, migrations ordered before every role, a role label for Prometheus, the
// gateway behind an HPA. tests/e2e/deploy/smoke.test.ts runs these containers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, ROLES } from '../../../src/config/config.js';
import { containerEnv, k8sFiles, readDockerfile, readK8s, repoRoot, type K8sObject } from './manifests.js';

const KUBECONFORM_VERSION = 'v0.8.0';
const SCHEMAS = join(repoRoot, 'deploy/k8s/schemas/v1.33.0-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json');
const objects = readK8s();
const deployments = objects.filter((o) => o.kind === 'Deployment');
const pods = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** kubeconform from $KUBECONFORM, PATH, or built once from the Go module proxy into a cache directory. */
function findKubeconform(): { path: string | null; why: string } {
  if (process.env.KUBECONFORM) return { path: process.env.KUBECONFORM, why: '' };
  const onPath = spawnSync('kubeconform', ['-v'], { encoding: 'utf8' });
  if (onPath.status === 0) return { path: 'kubeconform', why: '' };
  const bin = join(homedir(), '.cache', 'outerloop', `kubeconform-${KUBECONFORM_VERSION}`);
  const exe = join(bin, 'kubeconform');
  if (existsSync(exe)) return { path: exe, why: '' };
  if (spawnSync('go', ['version']).status !== 0) return { path: null, why: 'no kubeconform on PATH and no Go toolchain to build it (go install github.com/yannh/kubeconform/cmd/kubeconform)' };
  mkdirSync(bin, { recursive: true });
  const built = spawnSync('go', ['install', `github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`], {
    env: { ...process.env, GOBIN: bin, CGO_ENABLED: '0' },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (built.status !== 0) return { path: null, why: `go install kubeconform failed: ${built.stderr.slice(-2000)}` };
  return { path: exe, why: '' };
}

const kubeconform = findKubeconform();
if (!kubeconform.path && inCI) throw new Error(`[CI=true] ${kubeconform.why}`);

function validate(files: string[]): { status: number | null; out: string } {
  const r = spawnSync(kubeconform.path!, ['-strict', '-summary', '-output', 'text', '-schema-location', SCHEMAS, ...files], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('kubeconform: every object in deploy/k8s is valid against the Kubernetes 1.33 schemas (strict)', { skip: kubeconform.path ? false : kubeconform.why }, () => {
  const r = validate(k8sFiles());
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`Valid: ${objects.length}, Invalid: 0, Errors: 0, Skipped: 0`), r.out);
  // and it can fail: a misspelt field in a container is rejected
  const dir = mkdtempSync(join(tmpdir(), 'k8s-invalid-'));
  try {
    const bad = readFileSync(join(repoRoot, 'deploy/k8s/outerloop.yaml'), 'utf8').replace('readinessProbe:', 'readinesProbe:');
    writeFileSync(join(dir, 'bad.yaml'), bad);
    const r2 = validate([join(dir, 'bad.yaml')]);
    assert.notEqual(r2.status, 0);
    assert.match(r2.out, /readinesProbe/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Deployment per role, each container of each pod non-root with a read-only root filesystem and resources', () => {
  const image = readDockerfile();
  const imageUid = Number(image.user.split(':')[0]);
  assert.deepEqual(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']).sort(), [...ROLES].sort());
  for (const o of pods) {
    const pod = o.spec!.template!.spec;
    const sc = pod.securityContext ?? {};
    assert.equal(sc.runAsNonRoot, true, `${o.metadata.name}: runAsNonRoot`);
    assert.equal(sc.runAsUser, imageUid, `${o.metadata.name}: runAsUser is the image's user`);
    assert.equal(sc.fsGroup, sc.runAsGroup, `${o.metadata.name}: fsGroup = runAsGroup, so volumes are writable by the process's group`);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `${o.metadata.name}/${c.name}`;
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
      for (const kind of ['requests', 'limits'] as const) for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r], `${where}: resources.${kind}.${r}`);
      const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
      for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${where}: mounts undeclared volume ${m.name}`);
    }
  }
});

test('each role: valid distributed configuration, its directories mounted, readiness on /readyz, scraped with its role label', () => {
  for (const d of deployments) {
    const role = d.metadata.labels!['app.kubernetes.io/component']!;
    const template = d.spec!.template!;
    const pod = template.spec;
    const [c] = pod.containers;
    assert.ok(c && pod.containers.length === 1, `${d.metadata.name}: one container`);
    assert.deepEqual(c.args, ['start', '--roles', role]);
    const config = loadConfig(containerEnv(objects, c), false);
    assert.equal(config.mode, 'distributed');
    assert.deepEqual(config.roles, [role]);
    assert.equal(config.http.host, '0.0.0.0');
    const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
    for (const dir of [config.dataDir, config.artifactDir, '/tmp']) {
      assert.ok(mounts.some((m) => dir === m || dir.startsWith(m + '/')), `${d.metadata.name}: ${dir} must be on a mounted volume (the root filesystem is read-only)`);
    }
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${d.metadata.name}: readiness`);
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${d.metadata.name}: liveness`);
    assert.equal(c.ports?.[0]?.containerPort, config.http.port);
    assert.equal(template.metadata?.labels?.['app.kubernetes.io/component'], role);
    assert.equal(template.metadata?.annotations?.['prometheus.io/scrape'], 'true');
    assert.equal(template.metadata?.annotations?.['prometheus.io/port'], String(config.http.port));
    // ordered after the migrations: an initContainer waits for the migrate Job's work
    const init = pod.initContainers ?? [];
    assert.ok(init.some((i) => i.args?.[0] === 'migrate' && i.args.includes('--wait') && i.image === c.image), `${d.metadata.name}: waits for migrations`);
  }
  const job = objects.find((o) => o.kind === 'Job')!;
  assert.deepEqual(job.spec!.template!.spec.containers[0]!.args, ['migrate']);
});

test('the gateway scales on CPU; the scrape job turns the component label into `role`', () => {
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as K8sObject & { spec: { minReplicas: number; maxReplicas: number; metrics: Array<{ resource: { name: string } }> } };
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'outerloop-gateway' });
  assert.equal(hpa.spec.metrics[0]!.resource.name, 'cpu');
  assert.ok(hpa.spec.minReplicas >= 2);
  const scrape = objects.find((o) => o.metadata.name === 'outerloop-prometheus-scrape')!;
  const config = parse(scrape.data!['outerloop-scrape.yml']!) as { scrape_configs: Array<{ relabel_configs: Array<{ source_labels?: string[]; target_label?: string }> }> };
  const relabels = config.scrape_configs[0]!.relabel_configs;
  assert.ok(relabels.some((r) => r.target_label === 'role' && r.source_labels?.[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_component'));
  // promtool is not available here; check at least that Prometheus' own regex syntax (RE2) compiles in JS for these
  for (const r of relabels as Array<{ regex?: string }>) if (r.regex) assert.doesNotThrow(() => new RegExp(`^(?:${r.regex})$`));
});
