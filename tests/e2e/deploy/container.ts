// Running the built app "as a container would", without a container engine: the
// process gets the image/compose/pod's environment, argv and user (setuid through
// spawn's uid/gid — the suite runs as root in CI), and a file system in which only the
// declared volumes are writable. Paths are mapped onto a temporary root:
//   - the image's WORKDIR (/app) is a root-owned tree of what the image copies there
//     (node_modules, dist/src, dist/migrations, package.json, models), hard-linked from
//     this checkout — so the test also does not depend on where the checkout lives;
//   - every other absolute path (/var/lib/outerloop/…, /tmp, HOME) lives under the
//     temporary root, whose directories are root-owned 0755 unless a volume makes
//     them writable.
// So an attempt to write outside a volume fails with EACCES, as it would in the image.
// The one thing changed on purpose is the port (several containers' 8080 on one host),
// like a `-p` mapping; and a distributed container's database URL, brokers and topic
// prefix point at the test services instead of compose/cluster DNS names.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { repoRoot } from '../../unit/deploy/manifests.js';

export interface Volume {
  /** path inside the container */
  mountPath: string;
  uid: number;
  gid: number;
  mode: number;
  /** a host directory shared between containers (a named volume, a PVC); otherwise a fresh one */
  sharedDir?: string;
}

/** What deploy/Dockerfile's final stage copies into its WORKDIR (its COPY lines), as a
 *  root-owned tree. node_modules is the repository's, dev dependencies included (the
 *  image prunes them): a superset, so this cannot miss a runtime dependency's absence. */
export function buildAppTree(copies: ReadonlyArray<{ from: string; to: string }>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-app-'));
  chmodSync(dir, 0o755);
  for (const { from, to } of copies) {
    // `COPY x ./` and `COPY x dir/` put x inside; `COPY x ./y` names the target
    const target = to === '' || to === '.' || to.endsWith('/') ? join(dir, to, basename(from)) : join(dir, to);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    // hard links: instant, and the files keep their root ownership and read-only modes
    let r = spawnSync('cp', ['-al', join(repoRoot, from), target], { encoding: 'utf8' });
    if (r.status !== 0) r = spawnSync('cp', ['-a', join(repoRoot, from), target], { encoding: 'utf8' }); // another file system
    if (r.status !== 0) throw new Error(`copying ${from} into the app tree: ${r.stderr}`);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export class ContainerRoot {
  readonly dir: string;
  constructor(
    readonly name: string,
    readonly workdir: string,
    /** host directory that stands for the WORKDIR */
    private readonly appDir: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `outerloop-ctr-${name}-`));
    chmodSync(this.dir, 0o755);
    chownSync(this.dir, 0, 0);
  }

  /** container path → host path */
  host(path: string): string {
    if (path === this.workdir || path.startsWith(this.workdir + '/')) return join(this.appDir, path.slice(this.workdir.length));
    return join(this.dir, path);
  }

  /** root-owned 0755 parents, then the volume directory with its owner and mode (or a link to the shared one) */
  mount(v: Volume): void {
    const target = this.host(v.mountPath);
    this.rootOwnedParents(dirname(target));
    if (v.sharedDir) {
      rmSync(target, { recursive: true, force: true }); // a volume mounted over an image directory hides it
      symlinkSync(v.sharedDir, target);
      return;
    }
    mkdirSync(target);
    chownSync(target, v.uid, v.gid);
    chmodSync(target, v.mode);
  }

  private rootOwnedParents(dir: string): void {
    if (!dir.startsWith(this.dir)) return;
    const parts = dir.slice(this.dir.length).split('/').filter(Boolean);
    let at = this.dir;
    for (const p of parts) {
      at = join(at, p);
      try {
        mkdirSync(at, { mode: 0o755 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  /** environment values that are absolute container paths become host paths */
  mapEnv(env: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/') ? this.host(v) : v]));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A shared volume's host directory (named volume / PVC), with the owner the runtime gives it. */
export function sharedVolume(label: string, uid: number, gid: number, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), `outerloop-vol-${label}-`));
  chownSync(dir, uid, gid);
  chmodSync(dir, mode);
  return dir;
}

export interface RunningContainer {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** argv[0] "node" is this Node; relative paths resolve against the WORKDIR (the checkout). */
export function runContainer(root: ContainerRoot, argv: string[], env: Record<string, string>, user: { uid: number; gid: number }): RunningContainer {
  const [cmd, ...args] = argv;
  if (cmd !== 'node') throw new Error(`${root.name}: the entrypoint must run node, got ${cmd}`);
  const child = spawn(process.execPath, args, {
    cwd: root.host(root.workdir),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    uid: user.uid,
    gid: user.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? 128 : code)));
  return {
    name: root.name,
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export function parseUser(user: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) throw new Error(`user "${user}" must be numeric uid[:gid] (Kubernetes' runAsNonRoot can only check a numeric user)`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}
