// The deployment smoke test: the built app run the way deploy/Dockerfile,
// docker-compose.yml and deploy/k8s/outerloop.yaml say — their environment, argv,
// non-root user and volumes, every other directory root-owned (see container.ts for
// how that is simulated without a container engine) — until /readyz answers 200.
//  - the image's own example (`docker run -p 8080:8080 -v outerloop:/var/lib/outerloop`),
//    embedded mode, with the API key the README tells a user to create first;
//  - compose: `migrate` to completion, then the five role services;
//  - Kubernetes: the wait-for-migrations initContainer is started before the migrate
//    Job and must wait for it; then the five role Deployments' containers.
// Distributed runs use the shared test Kafka and PostgreSQL with their own database
// and topic prefix.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, deleteKafkaTopics, requireKafka, requirePostgres, uniquePrefix } from '../../integration/support/services.js';
import { containerEnv, readCompose, readDockerfile, readK8s, type ComposeService } from '../../unit/deploy/manifests.js';
import { freePort, getStatus, waitFor } from '../support/process.js';
import { buildAppTree, ContainerRoot, parseUser, runContainer, sharedVolume, type RunningContainer } from './container.js';

const isRoot = process.getuid?.() === 0;
const image = readDockerfile();
const imageUser = parseUser(image.user);
const app = isRoot ? buildAppTree(image.copies) : null;
const roots: ContainerRoot[] = [];
after(() => {
  for (const r of roots) r.remove();
  app?.remove();
});

function containerRoot(name: string): ContainerRoot {
  const r = new ContainerRoot(name, image.workdir, app!.dir);
  roots.push(r);
  return r;
}

/** The image's declared VOLUMEs, seeded with the owner the image gives those directories. */
function mountImageVolumes(root: ContainerRoot): void {
  for (const v of image.volumes) {
    const owner = image.ownedDirs.get(v);
    assert.ok(owner, `deploy/Dockerfile declares VOLUME ${v} but does not create it with an owner`);
    root.mount({ mountPath: v, uid: owner.uid, gid: owner.gid, mode: 0o750 });
    for (const [dir, o] of image.ownedDirs) if (dir.startsWith(v + '/')) root.mount({ mountPath: dir, uid: o.uid, gid: o.gid, mode: 0o750 });
  }
}

async function readyz(url: string, c: RunningContainer, timeoutMs = 180_000): Promise<void> {
  await waitFor(`${c.name} /readyz 200`, async () => {
    if (c.child.exitCode !== null) throw new Error(`${c.name} exited ${c.child.exitCode}\n${c.output().slice(-3000)}`);
    return (await getStatus(`${url}/readyz`)) === 200 ? true : undefined;
  }, timeoutMs, c.output);
}

async function exitCode(c: RunningContainer, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${c.name} did not exit within ${timeoutMs} ms\n${c.output().slice(-3000)}`)), timeoutMs);
  });
  try {
    return await Promise.race([c.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopAll(running: RunningContainer[]): Promise<void> {
  const codes = await Promise.all(running.map((c) => c.stop()));
  codes.forEach((code, i) => assert.equal(code, 0, `${running[i]!.name} exit after SIGTERM\n${running[i]!.output().slice(-3000)}`));
}

test('the image as its own example runs it: embedded, non-root, writing only to its VOLUME', { skip: isRoot ? false : 'needs root to run the app as the image user' }, async () => {
  assert.notEqual(imageUser.uid, 0, 'the image must not run as root');
  assert.equal(image.env.OUTERLOOP_HOST, '0.0.0.0', 'docker run -p can only reach a server listening on all interfaces');
  const root = containerRoot('image');
  mountImageVolumes(root);
  root.mount({ mountPath: '/tmp', uid: 0, gid: 0, mode: 0o1777 });
  const port = await freePort();
  const env = { ...root.mapEnv(image.env), OUTERLOOP_PORT: String(port), HOME: root.host('/home/node'), TMPDIR: root.host('/tmp') };
  // the README's first step with the image: a key (embedded mode on 0.0.0.0 requires keys)
  const keys = runContainer(root, [...image.entrypoint, 'keys', 'create', '--name', 'smoke', '--scopes', 'chat'], env, imageUser);
  assert.equal(await exitCode(keys, 60_000), 0, keys.output());
  const secret = /secret \(shown once, store it now\): (\S+)/.exec(keys.output())?.[1];
  assert.ok(secret, keys.output());
  const server = runContainer(root, [...image.entrypoint, ...image.cmd], env, imageUser);
  try {
    await readyz(`http://127.0.0.1:${port}`, server);
    const chat = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: 'outerloop', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    });
    assert.equal(chat.status, 200, await chat.clone().text());
  } finally {
    await stopAll([server]);
  }
  // the state is in the volume (a restarted container finds it)
  assert.ok(readdirSync(root.host(image.env.OUTERLOOP_DATA_DIR!)).some((f) => f.endsWith('.sqlite')));
  assert.equal(statSync(root.host(image.env.OUTERLOOP_DATA_DIR!)).uid, imageUser.uid);
});

const kafka = await requireKafka();
const postgres = await requirePostgres();

/** compose/cluster DNS names → the test services; one database and topic prefix per run */
async function testServices(label: string) {
  const db = await createTestDatabase(postgres.info!, label);
  const prefix = `${uniquePrefix(label)}.`;
  return {
    env: { OUTERLOOP_DATABASE_URL: db.url, OUTERLOOP_KAFKA_BROKERS: kafka.info!.brokers.join(','), OUTERLOOP_TOPIC_PREFIX: prefix },
    async cleanup() {
      await deleteKafkaTopics(kafka.info!, prefix);
      await db.drop();
    },
  };
}

describe('[kafka+postgres] deployments in distributed mode', { skip: kafka.skip || postgres.skip || (isRoot ? false : 'needs root to run the app as the image user') }, () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  before(async () => {
    services = await testServices('smoke');
  });
  after(async () => {
    await services?.cleanup();
  });

  test('docker-compose.yml: migrate completes, then every role becomes ready as its service is declared', async () => {
    const compose = readCompose();
    const outerloop = Object.entries(compose.services).filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile');
    const named = new Map<string, string>();
    const start = (name: string, s: ComposeService, port: number): RunningContainer => {
      const user = parseUser(s.user ?? image.user);
      assert.notEqual(user.uid, 0, `${name}: runs as root`);
      assert.equal(s.read_only, true, `${name}: read-only root filesystem`);
      const root = containerRoot(`compose-${name}`);
      mountImageVolumes(root); // an anonymous volume per container for the image's VOLUME
      for (const t of s.tmpfs ?? []) root.mount({ mountPath: t, uid: 0, gid: 0, mode: 0o1777 });
      for (const v of s.volumes ?? []) {
        const [source, target] = v.split(':') as [string, string];
        assert.ok(source in compose.volumes, `${name}: volume ${source} is not a named volume`);
        // docker seeds a new named volume with the image directory's owner
        const owner = image.ownedDirs.get(target);
        assert.ok(owner, `${name}: ${target} has no owner in the image, so a new volume there is root's`);
        if (!named.has(source)) named.set(source, sharedVolume(source, owner.uid, owner.gid, 0o750));
        root.mount({ mountPath: target, uid: owner.uid, gid: owner.gid, mode: 0o750, sharedDir: named.get(source)! });
      }
      const env = { ...root.mapEnv({ ...image.env, ...s.environment }), ...services.env, OUTERLOOP_PORT: String(port), HOME: root.host('/home/node'), TMPDIR: root.host('/tmp') };
      return runContainer(root, [...image.entrypoint, ...(s.command ?? image.cmd)], env, user);
    };
    const [migrateName, migrate] = outerloop.find(([, s]) => s.command?.[0] === 'migrate')!;
    const roles = outerloop.filter(([n]) => n !== migrateName);
    for (const [name, s] of roles) assert.equal(s.depends_on?.[migrateName]?.condition, 'service_completed_successfully', `${name} must start after migrate`);
    const m = start(migrateName, migrate, await freePort());
    assert.equal(await exitCode(m, 120_000), 0, m.output());
    const running: Array<{ c: RunningContainer; url: string }> = [];
    try {
      for (const [name, s] of roles) {
        const port = await freePort();
        running.push({ c: start(name, s, port), url: `http://127.0.0.1:${port}` });
      }
      await Promise.all(running.map(({ c, url }) => readyz(url, c)));
    } finally {
      await stopAll(running.map((r) => r.c));
    }
  });

  test('deploy/k8s: initContainers wait for the migrate Job; every role Deployment becomes ready', async () => {
    const objects = readK8s();
    const claims = new Map<string, string>();
    const podOf = (name: string) => objects.find((o) => o.metadata.name === name)!.spec!.template!.spec;
    const run = (podName: string, which: 'init' | 'main', port: number): RunningContainer => {
      const pod = podOf(podName);
      const c = which === 'init' ? pod.initContainers![0]! : pod.containers[0]!;
      const sc = pod.securityContext!;
      assert.equal(sc.runAsNonRoot, true);
      const user = { uid: sc.runAsUser!, gid: sc.runAsGroup ?? sc.runAsUser! };
      const root = containerRoot(`k8s-${podName}-${which}`);
      for (const mount of c.volumeMounts ?? []) {
        const volume = (pod.volumes ?? []).find((v) => v.name === mount.name)!;
        // fsGroup: the kubelet makes the volume group-owned by fsGroup, setgid, group-writable
        const spec = { mountPath: mount.mountPath, uid: 0, gid: sc.fsGroup!, mode: 0o2775 };
        if (volume.persistentVolumeClaim) {
          const claim = volume.persistentVolumeClaim.claimName;
          if (!claims.has(claim)) claims.set(claim, sharedVolume(claim, 0, sc.fsGroup!, 0o2775));
          root.mount({ ...spec, sharedDir: claims.get(claim)! });
        } else root.mount(spec);
      }
      const declared = containerEnv(objects, c);
      const env = { ...root.mapEnv({ ...image.env, ...declared }), ...services.env, OUTERLOOP_PORT: String(port), HOME: root.host('/home/node'), TMPDIR: root.host('/tmp') };
      return runContainer(root, [...image.entrypoint, ...(c.args ?? image.cmd)], env, user);
    };
    // a fresh database for this run: the compose test migrated the other one
    const k8sServices = await testServices('smokek8s');
    const saved = services.env;
    services = { ...services, env: k8sServices.env };
    const running: Array<{ c: RunningContainer; url: string }> = [];
    try {
      const roleDeployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
      const firstInit = run(roleDeployments[0]!, 'init', await freePort());
      await waitFor('the initContainer waits for pending migrations', async () => {
        if (firstInit.child.exitCode !== null) throw new Error(`initContainer exited ${firstInit.child.exitCode} before the migrations ran\n${firstInit.output()}`);
        return firstInit.output().includes('waiting for pending migrations') ? true : undefined;
      }, 60_000, firstInit.output);
      const job = objects.find((o) => o.kind === 'Job')!;
      const migrate = run(job.metadata.name, 'main', await freePort());
      assert.equal(await exitCode(migrate, 120_000), 0, migrate.output());
      assert.equal(await exitCode(firstInit, 60_000), 0, firstInit.output());
      const inits = await Promise.all(roleDeployments.slice(1).map(async (n) => run(n, 'init', await freePort())));
      for (const i of inits) assert.equal(await exitCode(i, 60_000), 0, i.output());
      for (const name of roleDeployments) {
        const port = await freePort();
        running.push({ c: run(name, 'main', port), url: `http://127.0.0.1:${port}` });
      }
      await Promise.all(running.map(({ c, url }) => readyz(url, c)));
    } finally {
      await stopAll(running.map((r) => r.c));
      services = { ...services, env: saved };
      await k8sServices.cleanup();
    }
  });
});
