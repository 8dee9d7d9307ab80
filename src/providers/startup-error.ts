/**
 * A problem that stops the server from starting; the CLI prints it and exits with code 2.
 * In its own module so that providers can throw it without importing the registry (whose
 * index imports them back).
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
