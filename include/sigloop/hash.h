/* Content hashes: BLAKE2b (RFC 7693) with a 128-bit digest, shown as 32 hex digits. Used to
 * identify file contents (duplicate detection, feature-cache keys); the same bytes give the same
 * hash on every machine. */
#ifndef SIGLOOP_HASH_H
#define SIGLOOP_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t h[8];
    uint64_t t[2];
    uint8_t buf[128];
    size_t buflen;
    size_t outlen;
} sl_blake2b;

/* outlen in [1, 64] bytes; no key. */
void sl_blake2b_init(sl_blake2b *s, size_t outlen);
void sl_blake2b_update(sl_blake2b *s, const void *data, size_t len);
void sl_blake2b_final(sl_blake2b *s, uint8_t *out);

#define SL_HASH_HEX 33 /* 32 hex digits + NUL */

/* The 128-bit content hash of a byte buffer as hex. */
void sl_hash_bytes(const void *data, size_t len, char hex[SL_HASH_HEX]);
/* The 128-bit content hash of a file's bytes as hex. */
sl_status sl_hash_file(const char *path, char hex[SL_HASH_HEX]);

#ifdef __cplusplus
}
#endif
#endif
