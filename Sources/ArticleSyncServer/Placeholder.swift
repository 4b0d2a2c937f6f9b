// ArticleSyncServer
