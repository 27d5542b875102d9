/**
 * No telemetry. onnxruntime-node's native library (1.30) starts Microsoft's telemetry
 * client unless ORT_DISABLE_TELEMETRY is set when it loads: it queues events in
 * ~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db, writes a device id beside
 * it and an empty mat-debug-<pid>.log into the temp folder. The Node binding exposes no
 * switch, so the variable is set here, in the process environment (setenv, which native
 * code reads), by a module that session.ts imports before onnxruntime-node.
 *
 * In a worker thread process.env is a private copy native code never sees; a worker that
 * loads the core must be started with `env: SHARE_ENV` (see the extension's engine).
 */
process.env.ORT_DISABLE_TELEMETRY = '1';
