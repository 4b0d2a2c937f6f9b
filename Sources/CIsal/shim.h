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

// A state of its own, for a caller that inflates many streams in a row (CIsal_inflateRawIn); NULL
// when out of memory. Freed with free().
static inline struct inflate_state *CIsal_newState(void) { return malloc(sizeof(struct inflate_state)); }

// Inflates one raw deflate stream that starts from the preset dictionary `dict` into `out`, with
// ISA-L's igzip, in `state`. Returns ISA-L's code (negative: invalid data); `produced` is the output
// written, `unused` the input bytes not part of the stream (ISA-L reads ahead into its bit buffer,
// which is counted back), `finished` whether the stream's last block ended.
//
// ISA-L copies the dictionary into the state's window, then decodes a short stream after it, in the
// same buffer: `window_holds_dict` says the window still holds these bytes from the last stream,
// which skips that copy (the caller knows the bytes are the same: it owns them). `window_intact`
// reports whether it still does afterwards: the stream ended within the buffer, which ISA-L then
// neither shifted nor overwrote (its fill level is the dictionary plus the output exactly).
static inline int CIsal_inflateRawIn(struct inflate_state *state, const uint8_t *in, uint32_t in_len,
                                     const uint8_t *dict, uint32_t dict_len, int window_holds_dict,
                                     uint8_t *out, uint32_t out_len, uint32_t *produced, uint32_t *unused,
                                     int *finished, int *window_intact) {
    isal_inflate_init(state);
    state->crc_flag = ISAL_DEFLATE;
    int rc;
    int reusable = dict_len > 0 && dict_len <= IGZIP_HIST_SIZE;
    if (window_holds_dict && reusable) {
        state->tmp_out_processed = (int32_t)dict_len;
        state->tmp_out_valid = (int32_t)dict_len;
        state->dict_length = dict_len;
        rc = ISAL_DECOMP_OK;
    } else {
        rc = isal_inflate_set_dict(state, (uint8_t *)dict, dict_len);
    }
    *produced = 0;
    *unused = in_len;
    *finished = 0;
    *window_intact = 0;
    if (rc == ISAL_DECOMP_OK) {
        state->next_in = (uint8_t *)in;
        state->avail_in = in_len;
        state->next_out = out;
        state->avail_out = out_len;
        rc = isal_inflate(state);
        *produced = state->total_out;
        *unused = state->avail_in + (uint32_t)(state->read_in_length / 8);
        *finished = state->block_state == ISAL_BLOCK_FINISH;
        *window_intact = reusable && rc == ISAL_DECOMP_OK && *finished && *produced > 0 &&
                         state->tmp_out_processed == state->tmp_out_valid &&
                         (uint64_t)state->tmp_out_valid == (uint64_t)dict_len + *produced;
    }
    return rc;
}

// CIsal_inflateRawIn in this thread's state, from the dictionary's bytes every time; CISAL_NO_MEMORY
// when there is no state.
static inline int CIsal_inflateRaw(const uint8_t *in, uint32_t in_len, const uint8_t *dict, uint32_t dict_len,
                                   uint8_t *out, uint32_t out_len, uint32_t *produced, uint32_t *unused, int *finished) {
    struct inflate_state *state = CIsal_threadState();
    if (state == NULL) return CISAL_NO_MEMORY;
    int intact = 0;
    return CIsal_inflateRawIn(state, in, in_len, dict, dict_len, 0, out, out_len, produced, unused, finished, &intact);
}

// The Adler-32 of `len` bytes (ISA-L's, vectorized), as zlib's adler32(1, buf, len).
static inline uint32_t CIsal_adler32(const uint8_t *buf, uint64_t len) { return isal_adler32(1, buf, len); }

#endif
