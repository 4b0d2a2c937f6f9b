// The helpers that drive the real executables live in the shared ArticleSyncTestSupport target.
@_exported import ArticleSyncTestSupport
