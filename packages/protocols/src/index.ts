export * as frame from './frame';
export * as text from './text';
export * as redis from './redis';
export * as syslog from './syslog';
