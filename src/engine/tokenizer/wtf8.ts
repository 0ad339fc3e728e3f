// WTF-8 ("Wobbly Transformation Format", https://simonsapin.github.io/wtf-8/):
// UTF-8 generalised so that a lone UTF-16 surrogate (U+D800..U+DFFF not part of a
// pair) is written as its 3-byte generalised UTF-8 form (ED A0..BF 80..BF).
//
// Why: a JS string is a sequence of UTF-16 code units and may hold lone surrogates
// (truncated emoji from a client, JSON "\ud83d"). Plain UTF-8 cannot represent them,
// so TextEncoder would replace them with U+FFFD and the tokenizer would not be
// lossless. WTF-8 equals UTF-8 on every well-formed string, so the byte-level BPE
// sees ordinary UTF-8 for all normal text, and decode(encode(s)) === s for ANY s.
//
// Bytes that are not valid WTF-8 (which only a model can produce, never encode())
// decode to U+FFFD, one per maximal invalid subpart, like TextDecoder.

/** Append the WTF-8 bytes of `s` to `out`; returns the number of bytes written. */
export function encodeWtf8Into(s: string, out: number[]): number {
  const start = out.length;
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    // lone surrogates fall in this branch: that is the WTF-8 generalisation
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return out.length - start;
}

export function encodeWtf8(s: string): number[] {
  const out: number[] = [];
  encodeWtf8Into(s, out);
  return out;
}

/**
 * Length of the complete sequence starting at bytes[i], 0 if it is incomplete but
 * could still become valid with more bytes (only when i + len > end), or -1 if
 * bytes[i] cannot start a valid sequence here (→ U+FFFD, consume 1 byte).
 * Rules are UTF-8's (RFC 3629, table 3-7 of Unicode) except that ED A0..BF (surrogates) is allowed.
 */
function sequenceLength(bytes: ArrayLike<number>, i: number, end: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 === 0xe0) lo = 0xa0; // no overlong 3-byte forms
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 === 0xf0) lo = 0x90; // no overlong 4-byte forms
    if (b0 === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return -1;
  for (let k = 1; k < len; k++) {
    if (i + k >= end) return 0;
    const b = bytes[i + k];
    const okLo = k === 1 ? lo : 0x80;
    const okHi = k === 1 ? hi : 0xbf;
    if (b < okLo || b > okHi) return -1;
  }
  return len;
}

/**
 * Decode bytes[start, end) as WTF-8. If `final` is false, an incomplete sequence at
 * the end is left unconsumed (for streaming); `consumed` says how far decoding got.
 */
export function decodeWtf8(bytes: ArrayLike<number>, start = 0, end = bytes.length, final = true): { text: string; consumed: number } {
  let text = '';
  let i = start;
  // Build in chunks of code units: String.fromCharCode over many args is much faster than per-char concat.
  const units: number[] = [];
  const flush = (): void => {
    if (units.length > 0) {
      text += String.fromCharCode(...units);
      units.length = 0;
    }
  };
  while (i < end) {
    const len = sequenceLength(bytes, i, end);
    if (len === 0) {
      if (!final) break;
      // incomplete at the very end of final input: one U+FFFD for the maximal subpart
      units.push(0xfffd);
      i = end;
      break;
    }
    if (len < 0) {
      units.push(0xfffd);
      i++;
    } else {
      const b0 = bytes[i];
      let cp: number;
      if (len === 1) cp = b0;
      else if (len === 2) cp = ((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      else if (len === 3) cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      else cp = ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
      i += len;
    }
    if (units.length > 4096) flush();
  }
  flush();
  return { text, consumed: i - start };
}
