// The RL prompts the trainer uses when a PPO job names no prompt set: the reference
// scenario's closed prompts minus every eval-set prompt, frozen (as `npm run bench -- ppo`
// does), so PPO never trains on a prompt the evaluator scores.
import { freezePromptSet, type FrozenPromptSet } from '../../rlhf/prompts/prompt-set.js';
import { enumerateClosedPrompts, findPrompt, isHeldOutPrompt } from '../../scenario/index.js';

export function scenarioTrainingPrompts(): FrozenPromptSet {
  return freezePromptSet(enumerateClosedPrompts().map((p) => p.text), (t) => {
    const spec = findPrompt(t);
    return spec !== null && isHeldOutPrompt(spec);
  });
}
