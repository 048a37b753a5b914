// Loads the native uWebSockets.js binary directly. The package's own entry
// point silently falls back to a slow pure-JavaScript imitation (without
// SSLApp) when the binary does not match this Node.js; a proxy that quietly
// runs at a tenth of its speed without TLS is worse than one that refuses to
// start, so we bypass that entry point and fail loudly instead.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as UWS from 'uWebSockets.js';
import { Errors, PosternError } from '../errors.js';

export type Uws = typeof UWS;

let loaded: Uws | undefined;

const require = createRequire(import.meta.url);

/** Where the native binary for this platform and Node.js ABI would be. */
export function nativeBinaryPath(): string {
  const packageDir = dirname(require.resolve('uWebSockets.js/package.json'));
  return join(packageDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

/** Loads the native binary (once); `binary` is for tests that need a missing one. */
export function loadUws(binary = nativeBinaryPath()): Uws {
  if (loaded && binary === nativeBinaryPath()) return loaded;
  let mod: Uws;
  try {
    mod = require(binary) as Uws;
  } catch (err) {
    throw new PosternError(
      Errors.UWS_NATIVE_MISSING,
      `no native build for Node.js ${process.version} (ABI ${process.versions.modules}) on ` +
        `${process.platform}-${process.arch} at ${binary}; Postern needs Node.js 20 on Linux, macOS or Windows ` +
        `(x64 or arm64) and refuses to run on the slow JavaScript fallback`,
      { cause: err },
    );
  }
  if (typeof mod.SSLApp !== 'function' || typeof mod.App !== 'function') {
    throw new PosternError(Errors.UWS_NATIVE_MISSING, `${binary} loaded but has no App/SSLApp`);
  }
  if (binary === nativeBinaryPath()) loaded = mod;
  return mod;
}
