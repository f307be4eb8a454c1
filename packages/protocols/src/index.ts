export * as frame from './frame';
export * as http from './http';
export * as redis from './redis';
export * as syslog from './syslog';
export * as text from './text';
export * as websocket from './websocket';
