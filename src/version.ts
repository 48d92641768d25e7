declare const __GATEPASS_VERSION__: string | undefined;

/** gatepass' version, injected by the bundler; `0.0.0-dev` when running from source. */
export const VERSION: string = typeof __GATEPASS_VERSION__ === 'string' ? __GATEPASS_VERSION__ : '0.0.0-dev';
