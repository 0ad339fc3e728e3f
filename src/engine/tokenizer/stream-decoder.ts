// Streaming decode for SSE: a token may end in the middle of a multi-byte character
// (an emoji is 4 bytes, often 2–4 byte-level tokens), so text is released only at
// WTF-8 sequence boundaries. Concatenating every push() and the final flush() gives
// exactly tokenizer.decode(allIds).

import { BYTE_VOCAB, type BpeTokenizer } from './bpe-tokenizer.js';
import { decodeWtf8 } from './wtf8.js';

/** Longest WTF-8 sequence is 4 bytes, so at most 3 bytes are ever held back. */
const MAX_PENDING = 8;

export class StreamingDecoder {
  private readonly pending = new Uint8Array(MAX_PENDING + 64);
  private pendingLength = 0;

  constructor(private readonly tokenizer: BpeTokenizer) {}

  /** Feed one token id; returns the text that became complete (possibly ''). */
  push(id: number): string {
    if (this.tokenizer.isSpecial(id)) {
      return this.flush() + this.tokenizer.specialTokens[id - BYTE_VOCAB];
    }
    const bytes = this.tokenizer.bytesOf(id);
    let text = '';
    for (let i = 0; i < bytes.length; i++) {
      if (this.pendingLength === this.pending.length) text += this.drain(false);
      this.pending[this.pendingLength++] = bytes[i];
    }
    return text + this.drain(false);
  }

  /** End of stream: release anything held back (an incomplete tail becomes U+FFFD). */
  flush(): string {
    return this.drain(true);
  }

  reset(): void {
    this.pendingLength = 0;
  }

  private drain(final: boolean): string {
    if (this.pendingLength === 0) return '';
    const { text, consumed } = decodeWtf8(this.pending, 0, this.pendingLength, final);
    this.pending.copyWithin(0, consumed, this.pendingLength);
    this.pendingLength -= consumed;
    return text;
  }
}
