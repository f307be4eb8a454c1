export { formatBytes, formatConnections, formatDuration, formatStatus } from './format';
export { type AppLocation, findConfig, loadApp, loadConfig } from './loadApp';
export { main } from './main';
export { registerTypeScript } from './register';
export { type RunningApp, type StartAppOptions, startApp } from './startApp';
