// A node:test reporter that tallies leaf tests by the service tag in their name or an
// enclosing suite's name — `[kafka]`, `[postgres]`, `[kafka+postgres]` (the
// convention of tests/integration/support/services.ts) — and writes one JSON line per
// finished test to its destination. tests/run.mjs reads the file and prints the totals,
// so CI shows how many tests really ran against Kafka and against PostgreSQL.
const TAG = /\[(kafka|postgres|kafka\+postgres)\]/g;

function tagsOf(names) {
  const tags = new Set();
  for (const name of names) {
    for (const m of String(name).matchAll(TAG)) {
      for (const service of m[1].split('+')) tags.add(service);
    }
  }
  return [...tags];
}

export default async function* serviceCountReporter(source) {
  // test:start arrives in order with its nesting level; a test's ancestors are the
  // names at the lower levels (tests in one file run one after the other)
  const stacks = new Map();
  for await (const event of source) {
    const data = event.data ?? {};
    const key = data.file ?? '';
    if (event.type === 'test:start') {
      const stack = stacks.get(key) ?? [];
      stack.length = data.nesting;
      stack[data.nesting] = data.name;
      stacks.set(key, stack);
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (data.details?.type === 'suite') continue;
    const stack = (stacks.get(key) ?? []).slice(0, data.nesting);
    const status = data.skip !== undefined && data.skip !== false ? 'skip' : data.todo ? 'todo' : event.type === 'test:pass' ? 'pass' : 'fail';
    yield JSON.stringify({ file: data.file, name: data.name, status, services: tagsOf([...stack, data.name]) }) + '\n';
  }
}
