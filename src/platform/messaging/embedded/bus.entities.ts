// Entities of the embedded (SQLite-persisted) event bus. Placeholder created by the
// persistence work so the data source compiles; the event-bus owner fills it.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const BUS_ENTITIES: Function[] = [];
