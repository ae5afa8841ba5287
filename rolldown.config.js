// The server and CLI as one CommonJS file (dist/certdesk.cjs), which bin/certdesk.js
// runs with a V8 code cache (src/cli/bundle_loader.ts): Node resolves and reads about
// a thousand small module files otherwise, half of the time to /healthz.
// Native and rarely used drivers stay outside.
export default {
  input: 'dist/src/cli/main.js',
  platform: 'node',
  external: [/^node:/, /^better-sqlite3(\/|$)/, /^pg(\/|$)/, /^nodemailer(\/|$)/],
  output: {
    file: 'dist/certdesk.cjs',
    format: 'cjs',
    codeSplitting: false,
    sourcemap: true,
    // Minified, it compiles about 0.1 s sooner when there is no code cache yet. Names are kept for stack traces and
    // for libraries that read them; node --enable-source-maps maps lines back to the sources.
    minify: true,
    keepNames: true,
    // pg and nodemailer, loaded only when configured, are required: code compiled through node:vm cannot import().
    dynamicImportInCjs: false,
  },
};
