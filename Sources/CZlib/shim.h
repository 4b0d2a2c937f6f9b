#ifndef ARTICLESYNC_CZLIB_SHIM_H
#define ARTICLESYNC_CZLIB_SHIM_H

#include <zlib.h>

// zlib's init functions are macros that pass the library version and struct size;
// Swift cannot import macros, so they are wrapped here.

static inline int CZlib_deflateInit2(z_streamp strm, int level, int method,
                                     int windowBits, int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}

static inline int CZlib_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

static inline int CZlib_deflateInit(z_streamp strm, int level) {
    return deflateInit(strm, level);
}

static inline int CZlib_inflateInit(z_streamp strm) {
    return inflateInit(strm);
}

#endif
