/** Opening the batch would take the requests pending over every batch past `batches.max_pending_requests`. */
export class PendingLimitError extends Error {
  constructor(
    readonly maxPending: number,
    readonly pending: number,
  ) {
    super(`too many batch requests pending (${pending} of at most ${maxPending})`);
    this.name = 'PendingLimitError';
  }
}
