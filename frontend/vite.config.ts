/// <reference types="vitest/config" />
// Vite: the production build nginx serves from frontend/dist (content-hashed files under
// /assets/, cached immutable), the dev server (proxying /api to a running stack), and
// the Vitest set-up for component tests.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const apiTarget = process.env.RUNWATCH_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No source maps in the build nginx serves: they would publish the dashboard's whole
    // source (nginx refuses *.map as well). `npm run dev` keeps its own maps for debugging.
    sourcemap: false,
    // Big, rarely changing vendors in their own files: a deploy of our code leaves them
    // cached in browsers. Pages are split by route (React.lazy in src/routes.tsx).
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (!id.includes('node_modules')) return undefined;
          if (id.includes('uplot')) return 'uplot';
          if (id.includes('@mantine')) return 'mantine';
          // Only TanStack Query is needed at once; Table and Virtual go with the runs table.
          if (id.includes('@tanstack/query-core') || id.includes('@tanstack/react-query'))
            return 'query';
          if (/node_modules\/(react|react-dom|react-router|react-router-dom|scheduler)\//.test(id))
            return 'react';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: { '/api': { target: apiTarget, changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
