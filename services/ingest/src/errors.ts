/** An error that maps to an HTTP answer with a clear message. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: 400 | 401 | 403 | 413 | 415 | 503,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
