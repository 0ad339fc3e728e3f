/** A JSON object as stored in a JSON column. `any`, not `unknown` or a recursive
 *  JSON type, because TypeORM's insert/update typings (QueryDeepPartialEntity)
 *  reject `unknown` and overflow on recursive types, and a record that cannot be
 *  passed to the persistence adapter is no use. Producers validate these documents
 *  with zod before they are stored. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = Record<string, any>;
