/**
 * Error codes of the HTTP protocol (listed in docs/http.md and docs/errors.md). A bad request
 * is answered with its HTTP status and the connection closes; these codes name what happened
 * in logs and in the error given to a handler's onError.
 */
export const HttpErrorCodes = {
  /** The request line or a header was malformed (answered 400). */
  BAD_REQUEST: 'BEYOD_HTTP_BAD_REQUEST',
  /** The header block was over maxHeaderSize (answered 431). */
  HEADERS_TOO_LARGE: 'BEYOD_HTTP_HEADERS_TOO_LARGE',
  /** The request (head + body) was over maxPacketSize, or an upload over maxFileSize (answered 413). */
  BODY_TOO_LARGE: 'BEYOD_HTTP_BODY_TOO_LARGE',
  /** The client did not finish its header block within headerTimeout (answered 408). */
  HEADER_TIMEOUT: 'BEYOD_HTTP_HEADER_TIMEOUT',
  /** The client did not send the whole request (head and body) within requestTimeout (answered 408). */
  REQUEST_TIMEOUT: 'BEYOD_HTTP_REQUEST_TIMEOUT',
  /** A form body had more than maxFields fields (answered 413). */
  TOO_MANY_FIELDS: 'BEYOD_HTTP_TOO_MANY_FIELDS',
  /** A multipart/form-data or urlencoded body could not be parsed (answered 400). */
  BAD_FORM: 'BEYOD_HTTP_BAD_FORM',
  /** A handler's onRequest or route threw or rejected (answered 500). */
  HANDLER_FAILED: 'BEYOD_HTTP_HANDLER_FAILED',
} as const;

export type HttpErrorCode = (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];
