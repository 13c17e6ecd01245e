// What the intake uses of the package, and nothing else: `await import()` of a package itself
// would keep every command and schema it has (a dynamic import's namespace cannot be tree-shaken).
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
