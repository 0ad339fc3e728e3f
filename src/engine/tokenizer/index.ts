export * from './bpe-tokenizer.js';
export * from './stream-decoder.js';
export * from './wtf8.js';
