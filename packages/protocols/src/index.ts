export * as frame from './frame';
export * as http from './http';
export * as text from './text';
export * as websocket from './websocket';
