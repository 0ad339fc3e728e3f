// Reading the deployment files as a container runtime would: the Dockerfile's final
// stage (ENV, USER, VOLUME, WORKDIR, ENTRYPOINT/CMD, directories it creates and their
// owner), docker-compose.yml's Outerloop services and the Kubernetes manifests'
// pods. Used by the unit checks here and by tests/e2e/deploy/smoke.test.ts, which
// runs the built app the way each file says.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface ImageSpec {
  env: Record<string, string>;
  /** "uid:gid" or a name, as written */
  user: string;
  volumes: string[];
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  /** directories the final stage creates with an owner: path → uid:gid */
  ownedDirs: Map<string, { uid: number; gid: number }>;
  /** what the final stage copies into WORKDIR, as repository paths (the build stage's
   *  WORKDIR mirrors the repository after `npm run build`) → paths relative to WORKDIR */
  copies: Array<{ from: string; to: string }>;
}

/** The final stage of deploy/Dockerfile. Supports the instruction forms that file uses. */
export function readDockerfile(path = join(repoRoot, 'deploy/Dockerfile')): ImageSpec {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  const final = stages.at(-1) ?? [];
  const spec: ImageSpec = { env: {}, user: 'root', volumes: [], workdir: '/', entrypoint: [], cmd: [], ownedDirs: new Map(), copies: [] };
  const buildWorkdir = stages.length > 1 ? /^WORKDIR\s+(\S+)/im.exec(stages[0]!.join('\n'))?.[1] ?? '/' : '/';
  for (const line of final) {
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    switch (instruction.toUpperCase()) {
      case 'ENV':
        for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) spec.env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
        break;
      case 'USER':
        spec.user = rest.trim();
        break;
      case 'VOLUME':
        spec.volumes.push(...(rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : rest.trim().split(/\s+/)));
        break;
      case 'WORKDIR':
        spec.workdir = rest.trim();
        break;
      case 'ENTRYPOINT':
        spec.entrypoint = JSON.parse(rest) as string[];
        break;
      case 'CMD':
        spec.cmd = JSON.parse(rest) as string[];
        break;
      case 'COPY': {
        // `COPY [--from=build] SRC DEST`: SRC is in the build stage's WORKDIR or the context (the repository)
        const m = /^(?:--from=\S+\s+)?(\S+)\s+(\S+)$/.exec(rest.trim());
        if (!m) throw new Error(`deploy/Dockerfile: cannot read ${line}`);
        const from = m[1]!.startsWith(buildWorkdir + '/') ? m[1]!.slice(buildWorkdir.length + 1) : m[1]!;
        spec.copies.push({ from, to: m[2]!.replace(/^\.\//, '') });
        break;
      }
      case 'RUN': {
        // `install -d -o UID -g GID [-m MODE] DIR…`
        const m = /install\s+-d\s+-o\s+(\d+)\s+-g\s+(\d+)(?:\s+-m\s+\d+)?\s+((?:\/\S+\s*)+)/.exec(rest);
        if (m) for (const dir of m[3]!.trim().split(/\s+/)) spec.ownedDirs.set(dir, { uid: Number(m[1]), gid: Number(m[2]) });
        break;
      }
    }
  }
  return spec;
}

export interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  volumes?: string[];
  build?: { dockerfile: string };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
}

export function readCompose(): { services: Record<string, ComposeService>; volumes: Record<string, unknown> } {
  return parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
}

export interface K8sContainer {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ containerPort: number; name: string }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; runAsUser?: number };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface K8sPodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  initContainers?: K8sContainer[];
  containers: K8sContainer[];
  volumes?: Array<{ name: string; emptyDir?: object; persistentVolumeClaim?: { claimName: string } }>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    scaleTargetRef?: { kind: string; name: string };
    template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: K8sPodSpec };
  };
}

export const k8sFiles = (): string[] =>
  readdirSync(join(repoRoot, 'deploy/k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(repoRoot, 'deploy/k8s', f));

export function readK8s(): K8sObject[] {
  return k8sFiles().flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as K8sObject).filter(Boolean));
}

/** The environment a container gets: its ConfigMaps and Secrets (envFrom), then env. */
export function containerEnv(objects: K8sObject[], c: K8sContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const obj = objects.find((o) => o.kind === kind && o.metadata.name === ref?.name);
    if (!obj) throw new Error(`${c.name}: envFrom names ${kind} ${ref?.name}, which the manifests do not define`);
    Object.assign(env, obj.data ?? {}, obj.stringData ?? {});
  }
  for (const e of c.env ?? []) env[e.name] = e.value;
  return env;
}
