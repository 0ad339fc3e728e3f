// The chat template: how a conversation becomes the text the policy continues.
// One definition, used by the SFT corpus, the reward model's inputs, PPO rollouts
// and the gateway, so that train and serve see the same format.
//
// <|system|>You are…\n<|user|>How do I…\n<|assistant|>Use kill -9 …<|end|>
// The special markers are single tokens in the tokenizer (never split, never
// produced from user text: a user typing "<|end|>" gets ordinary bytes).

export const SPECIAL_TOKENS = ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>', '<|pad|>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];
export const END_OF_TURN: SpecialToken = '<|end|>';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Segments in order: special markers are kept apart so the tokenizer maps them to their ids. */
export type PromptSegment = { special: SpecialToken } | { text: string };

/** The prompt for the next assistant turn: every message, then the assistant marker. */
export function renderChatPrompt(messages: ChatMessage[]): PromptSegment[] {
  const out: PromptSegment[] = [];
  for (const m of messages) {
    out.push({ special: `<|${m.role}|>` as SpecialToken });
    out.push({ text: m.content });
    if (m.role === 'assistant') out.push({ special: END_OF_TURN });
    else out.push({ text: '\n' });
  }
  out.push({ special: '<|assistant|>' });
  return out;
}

/** A full training example: prompt segments plus the response and the end marker. */
export function renderChatExample(messages: ChatMessage[], response: string): { prompt: PromptSegment[]; completion: PromptSegment[] } {
  return { prompt: renderChatPrompt(messages), completion: [{ text: response }, { special: END_OF_TURN }] };
}
