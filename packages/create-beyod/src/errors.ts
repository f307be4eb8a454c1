/** Error codes of create-beyod and `beyod new` (listed in docs/errors.md). */
export const CreateErrorCodes = {
  /** The target directory exists and holds files. */
  DIR_NOT_EMPTY: 'BEYOD_NEW_DIR_NOT_EMPTY',
  /** --template names no template. */
  UNKNOWN_TEMPLATE: 'BEYOD_NEW_UNKNOWN_TEMPLATE',
  /** --name is not a valid npm package name. */
  BAD_NAME: 'BEYOD_NEW_BAD_NAME',
  /** --from-tarballs lacks the tarball of a beyod package (or is not a directory). */
  TARBALL_MISSING: 'BEYOD_NEW_TARBALL_MISSING',
} as const;

export type CreateErrorCode = (typeof CreateErrorCodes)[keyof typeof CreateErrorCodes];

/** An error with a stable code, like @beyod/core's BeyodError (this package depends on nothing). */
export class CreateError extends Error {
  constructor(
    readonly code: CreateErrorCode,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CreateError';
  }
}
