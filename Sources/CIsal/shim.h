#ifndef ARTICLESYNC_CISAL_SHIM_H
#define ARTICLESYNC_CISAL_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

// What CIsal_inflateRaw returns when it cannot allocate ISA-L's state (ISA-L's own codes are
// -9 to 2).
#define CISAL_NO_MEMORY (-100)

#include <pthread.h>

// ISA-L's state (window and tables, about 85 KiB) is kept per thread and reset for each stream: a
// pull inflates every article, and a heap block of that size for each one cost more than the
// small article it inflated. A thread's state is freed when the thread ends.
// (The key lives in a function: a system library's header cannot define a variable.)
static inline pthread_key_t *CIsal_stateKeySlot(void) {
    static pthread_key_t key;
    return &key;
}

static inline void CIsal_makeStateKey(void) { pthread_key_create(CIsal_stateKeySlot(), free); }

static inline struct inflate_state *CIsal_threadState(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, CIsal_makeStateKey);
    pthread_key_t key = *CIsal_stateKeySlot();
    struct inflate_state *state = pthread_getspecific(key);
    if (state == NULL) {
        state = malloc(sizeof *state);
        if (state == NULL) return NULL;
        if (pthread_setspecific(key, state) != 0) {
            free(state);
            return NULL;
        }
    }
    return state;
}

// Inflates one raw deflate stream that starts from the preset dictionary `dict` into `out`, with
// ISA-L's igzip, in this thread's state (on the heap, not on the caller's stack). Returns ISA-L's
// code (negative: invalid data) or CISAL_NO_MEMORY; `produced` is the output written, `unused`
// the input bytes not part of the stream (ISA-L reads ahead into its bit buffer, which is counted
// back), `finished` whether the stream's last block ended.
static inline int CIsal_inflateRaw(const uint8_t *in, uint32_t in_len, const uint8_t *dict, uint32_t dict_len,
                                   uint8_t *out, uint32_t out_len, uint32_t *produced, uint32_t *unused, int *finished) {
    struct inflate_state *state = CIsal_threadState();
    if (state == NULL) return CISAL_NO_MEMORY;
    isal_inflate_init(state);
    state->crc_flag = ISAL_DEFLATE;
    int rc = isal_inflate_set_dict(state, (uint8_t *)dict, dict_len);
    *produced = 0;
    *unused = in_len;
    *finished = 0;
    if (rc == ISAL_DECOMP_OK) {
        state->next_in = (uint8_t *)in;
        state->avail_in = in_len;
        state->next_out = out;
        state->avail_out = out_len;
        rc = isal_inflate(state);
        *produced = state->total_out;
        *unused = state->avail_in + (uint32_t)(state->read_in_length / 8);
        *finished = state->block_state == ISAL_BLOCK_FINISH;
    }
    return rc;
}

// The Adler-32 of `len` bytes (ISA-L's, vectorized), as zlib's adler32(1, buf, len).
static inline uint32_t CIsal_adler32(const uint8_t *buf, uint64_t len) { return isal_adler32(1, buf, len); }

#endif
