import { createApiKey, parseScopes, revokeApiKey } from '../services/gateway/auth/api-keys.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';

export async function keysCommand(args: ParsedArgs): Promise<void> {
  const [sub, id] = args.positionals;
  if (sub === 'create') {
    const f = takeFlags(args, ['name', 'scopes', 'rate-limit']);
    const name = stringFlag(f.name, 'name');
    if (!name) throw new UsageError('keys create: --name is required');
    const scopes = stringFlag(f.scopes, 'scopes', 'chat,feedback')!;
    try {
      parseScopes(scopes); // before the database opens: a bad flag is a usage error
    } catch (err) {
      throw new UsageError(`--${(err as Error).message}`);
    }
    const rate = f['rate-limit'] === undefined ? null : numberFlag(f['rate-limit'], 'rate-limit', 0);
    const key = await withDatabase((repositories) => createApiKey(repositories.apiKeys, { name, scopes, rateLimitPerMinute: rate }));
    process.stdout.write(
      `created API key ${key.id} (${key.name}) scopes=${key.scopes.join(',')} rate-limit=${key.rateLimitPerMinute ?? 'none'}\n` +
        `secret (shown once, store it now): ${key.secret}\n`,
    );
    return;
  }
  if (sub === 'revoke') {
    takeFlags(args, []);
    if (!id) throw new UsageError('keys revoke <id>');
    const ok = await withDatabase((repositories) => revokeApiKey(repositories.apiKeys, id));
    if (!ok) throw new UsageError(`no API key ${id}`);
    process.stdout.write(`revoked ${id}\n`);
    return;
  }
  throw new UsageError('keys create --name NAME --scopes chat,feedback,admin [--rate-limit N] | keys revoke <id>');
}
