// A PPO run in a child process for the SIGKILL resume test (ppo-run.test.ts): the run of
// RESUME_OPTIONS into argv[2], printing `step N` after each step; once step 3 is done its
// reward call for step 4 never returns, so the parent can SIGKILL it at a known point.
import { runPpo } from '../../../../src/rlhf/ppo/ppo-run.js';
import type { RewardFunction } from '../../../../src/rlhf/ppo/reward-function.js';
import { denseReward, RESUME_OPTIONS, TOY_PROMPTS, toyWorld } from './toy.js';

const toy = toyWorld();
let completed = 0;
const reward: RewardFunction = (prompts, responses) => (completed >= 3 ? new Promise(() => undefined) : denseReward(toy)(prompts, responses));
await runPpo({
  config: toy.config,
  tokenizer: toy.tokenizer,
  policy: toy.params,
  reference: toy.params,
  reward,
  prompts: TOY_PROMPTS,
  outDir: process.argv[2]!,
  options: RESUME_OPTIONS,
  onStep: (m) => {
    completed = m.step;
    process.stdout.write(`step ${m.step}\n`);
  },
});
