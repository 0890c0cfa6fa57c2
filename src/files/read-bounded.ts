// The bounded reader in the shared layer. It lives in the runtime, whose Node entry reads weights folders with it; the
// layers that may not import the runtime (the library's compiler over files) reach it here.
export { readBounded, readBoundedChunks, type ReadRefusal } from '../runtime/files/read-bounded.js';
