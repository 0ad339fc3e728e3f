// An orchestrator + trainer/evaluator worker in its own process, so the crash-resume
// test can SIGKILL it (the real crash: no finally blocks, no lease release, no last
// write). It kills itself with SIGKILL at the configured point (right after committing
// a state, or inside a step's job handler) — a kill at an exact point, no timing.
// Config: env OUTERLOOP_TEST_LOOP_CHILD (JSON WorldConfig + { trigger: boolean }).
// Prints "STATE <state>" after each transition and "DONE <result json>" at the end.
import { openWorld, resultOf, runToRest, type WorldConfig } from './loop-world.js';

async function main(): Promise<void> {
  const raw = process.env.OUTERLOOP_TEST_LOOP_CHILD;
  if (!raw) throw new Error('OUTERLOOP_TEST_LOOP_CHILD (JSON config) is not set');
  const config = JSON.parse(raw) as WorldConfig & { trigger: boolean };
  const world = await openWorld(config, (it) => process.stdout.write(`STATE ${it.state}\n`));
  if (config.trigger) {
    await world.orchestrator.trigger('manual');
    process.stdout.write('STATE snapshot\n');
    if (config.killAt === 'snapshot') process.kill(process.pid, 'SIGKILL');
  }
  const done = await runToRest(world);
  const jobs = (await world.queue.list({})).map((j) => ({ key: j.idempotencyKey?.split(':').slice(1).join(':'), attempts: j.attempts, state: j.state }));
  process.stdout.write(`DONE ${JSON.stringify({ result: resultOf(done), jobs })}\n`);
  await world.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`loop-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
