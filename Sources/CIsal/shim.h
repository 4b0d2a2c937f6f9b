#ifndef ARTICLESYNC_CISAL_SHIM_H
#define ARTICLESYNC_CISAL_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

// What CIsal_inflateRaw returns when it cannot allocate ISA-L's state (ISA-L's own codes are
// -9 to 2).
#define CISAL_NO_MEMORY (-100)

// Inflates one raw deflate stream that starts from the preset dictionary `dict` into `out`, with
// ISA-L's igzip. Its state (window and tables, tens of kilobytes) lives on the heap, not on the
// caller's stack. Returns ISA-L's code (negative: invalid data) or CISAL_NO_MEMORY; `produced` is
// the output written, `unused` the input bytes not part of the stream (ISA-L reads ahead into its
// bit buffer, which is counted back), `finished` whether the stream's last block ended.
static inline int CIsal_inflateRaw(const uint8_t *in, uint32_t in_len, const uint8_t *dict, uint32_t dict_len,
                                   uint8_t *out, uint32_t out_len, uint32_t *produced, uint32_t *unused, int *finished) {
    struct inflate_state *state = malloc(sizeof *state);
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
    free(state);
    return rc;
}

#endif
