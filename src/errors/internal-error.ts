/**
 * A bug in netspec: a state its own code should never reach. The command line reports it, and anything else it did
 * not expect, with the bug-report message and exit status 70.
 */
export class InternalError extends Error {
  override readonly name = 'InternalError';
}
