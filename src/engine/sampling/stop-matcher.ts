// Stop sequences at the TEXT level (OpenAI `stop`): a stop string may span several
// tokens ("\n\nUser:" is 3–4 tokens) or start inside a token, so matching on token ids
// would miss it. Text is held back while it could still be the start of a stop string,
// so a streaming client never receives part of a stop sequence, and the returned text
// excludes the stop sequence itself.

export class StopMatcher {
  private readonly stops: string[];
  private held = '';
  stopped = false;

  constructor(stops: readonly string[] = []) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Add newly decoded text; returns the text that is now safe to emit. Sets `stopped` when a stop string completes. */
  push(text: string): string {
    if (this.stopped) return '';
    if (this.stops.length === 0) return text;
    const buffer = this.held + text;
    let firstAt = -1;
    for (const s of this.stops) {
      const at = buffer.indexOf(s);
      if (at >= 0 && (firstAt < 0 || at < firstAt)) firstAt = at;
    }
    if (firstAt >= 0) {
      this.stopped = true;
      this.held = '';
      return buffer.slice(0, firstAt);
    }
    // hold back the longest suffix that is a proper prefix of some stop string
    let holdLength = 0;
    for (const s of this.stops) {
      for (let len = Math.min(s.length - 1, buffer.length); len > holdLength; len--) {
        if (buffer.endsWith(s.slice(0, len))) {
          holdLength = len;
          break;
        }
      }
    }
    this.held = buffer.slice(buffer.length - holdLength);
    return buffer.slice(0, buffer.length - holdLength);
  }

  /** End of generation (not by a stop): release the held-back text. */
  flush(): string {
    const out = this.stopped ? '' : this.held;
    this.held = '';
    return out;
  }
}
