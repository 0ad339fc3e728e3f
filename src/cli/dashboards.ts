// `npm run dashboards`: writes the Grafana dashboards rendered by
// src/platform/metrics/grafana-dashboards.ts into deploy/grafana/dashboards/ (the
// file writing lives here, in the CLI layer, so the metrics adapter does no file I/O).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDashboards } from '../platform/metrics/grafana-dashboards.js';

export function writeDashboards(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderDashboards();
  for (const [name, json] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(json, null, 2) + '\n');
  return Object.keys(files);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? 'deploy/grafana/dashboards';
  for (const f of writeDashboards(dir)) process.stdout.write(`wrote ${join(dir, f)}\n`);
}
