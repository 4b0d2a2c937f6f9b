// ArticleSyncClient
