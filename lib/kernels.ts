/**
 * Which kernel runs each AEAD on the active backend (docs/KERNELS.md).
 * On the native backend x86-64 CPUs run tessera's own kernels
 * (vaes512, vaes256, aesni tiers for AES-GCM; AVX-512 / AVX2 ChaCha20 with
 * IFMA / AVX2 Poly1305), chosen once from CPUID and XGETBV; other CPUs, and
 * `TESSERA_NATIVE_KERNEL=openssl`, run OpenSSL's EVP.
 */
import { getBackend } from './backend/select';
import type { Algorithm } from './format';

/** A native kernel tier ('auto' = the best this CPU runs). */
export type NativeKernel = 'auto' | 'vaes512' | 'vaes256' | 'aesni' | 'openssl';

/**
 * The kernel each algorithm runs on for keys made now, e.g.
 * `{ 'aes-256-gcm': 'vaes512', 'chacha20-poly1305': 'avx512+ifma', ... }`;
 * `'openssl'` where OpenSSL does the work, `'wasm'` on the WASM backend.
 */
export function nativeKernels(): Record<Algorithm, string> {
  return getBackend().kernels();
}

/**
 * Native backend: the kernel tier of keys (and chunked ciphers, and the raw
 * API) made from now on in this thread; keys made before keep theirs. A tier
 * the CPU cannot run is ERR_BACKEND naming what it lacks. The process
 * default comes from TESSERA_NATIVE_KERNEL (auto when unset).
 */
export function useNativeKernel(name: NativeKernel): void {
  getBackend().setKernel(name);
}
