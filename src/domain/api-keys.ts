/** An API key as stored: only a hash of the secret is kept (the secret is shown once). */
export interface StoredApiKey {
  id: string;
  name: string;
  /** sha256 hex of the secret */
  hashedSecret: string;
  scopes: string[];
  rateLimitPerMinute: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}
