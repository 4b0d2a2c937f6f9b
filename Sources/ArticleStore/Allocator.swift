#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings shared by both executables.
public enum Allocator {
    /// glibc gives each thread that mallocs its own arena (up to 8 per core) and keeps what was
    /// freed in it: NIO's, the store's and the decoding threads each held several MB of freed batch
    /// buffers. Two arenas cut a 100,000-article pull's client peak by about 10 MB, and the server's
    /// with 50 clients at once by more (see the README's table), at no measurable cost in time.
    /// A no-op where glibc is not the allocator.
    public static func limitArenas(to count: Int32 = 2) {
        #if canImport(Glibc)
        // mallopt lives in <malloc.h>, which the Glibc module does not import: looked up by name.
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        let arenaMax: Int32 = -8  // M_ARENA_MAX
        _ = mallopt(arenaMax, count)
        // A fixed threshold: batch buffers (hundreds of KiB) are mapped and unmapped, not left in
        // the heap; by default glibc raises the threshold after the first such free, and then keeps
        // them in fragments that a server with many connections never returns.
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, 128 * 1024)
        #endif
    }

    /// Gives the pages of freed memory back to the system (glibc's malloc_trim), wherever they lie
    /// in the heap: the server calls it when a connection ends, so the memory of finished pulls
    /// does not stay behind in fragments between live ones.
    public static func releaseFreeMemory() {
        #if canImport(Glibc)
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") else { return }
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        _ = trim(0)
        #endif
    }
}
