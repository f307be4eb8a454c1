export * as frame from './frame';
export * as text from './text';
