import { defineConfig } from '@beyod/core';
import { http } from '@beyod/protocols';
import { Site } from '../app/Site';

// Static files from public/ (relative to this app's directory) and two small endpoints.
export default defineConfig({
  id: 'http-static',
  components: {
    server: {
      workerNum: 2,
      listeners: {
        web: {
          listen: process.env.HTTP_LISTEN ?? 'tcp://0.0.0.0:8080',
          idleTimeout: 120,
          parser: { class: http.Parser, maxPacketSize: 16 * 1024 * 1024, headerTimeout: 20, keepAliveTimeout: 5 },
          handler: { class: Site, documentRoot: 'public', directoryListing: true, maxFileSize: 8 * 1024 * 1024 },
        },
      },
    },
  },
});
