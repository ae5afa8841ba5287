// The server and CLI as one ES module (dist/certdesk.mjs), which bin/certdesk.js
// runs: Node resolves and reads about a thousand small module files otherwise,
// half of the time to /healthz. Native and rarely used drivers stay outside.
export default {
  input: 'dist/src/cli/main.js',
  platform: 'node',
  external: [/^node:/, /^better-sqlite3(\/|$)/, /^pg(\/|$)/, /^nodemailer(\/|$)/],
  output: {
    file: 'dist/certdesk.mjs',
    format: 'esm',
    codeSplitting: false,
    sourcemap: true,
    // Node compiles the bundle on every start: minified, it starts about 0.1 s sooner. Names are kept for
    // stack traces and for libraries that read them; node --enable-source-maps maps lines back to the sources.
    minify: true,
    keepNames: true,
    // CommonJS dependencies inside an ES module still expect these.
    banner: [
      "import { createRequire as __certdeskRequire } from 'node:module';",
      "import { fileURLToPath as __certdeskPath } from 'node:url';",
      'const require = __certdeskRequire(import.meta.url);',
      'const __filename = __certdeskPath(import.meta.url);',
      "const __dirname = __certdeskPath(new URL('.', import.meta.url));",
    ].join('\n'),
  },
};
