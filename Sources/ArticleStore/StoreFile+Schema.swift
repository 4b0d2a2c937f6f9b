import GRDB

extension StoreFile {
    /// One schema for the canonical store and replicas; which columns are filled depends on the role.
    ///
    /// `article` holds one row per id: a live article or (canonical only) a tombstone (deleted = 1,
    /// content columns NULL). `published` is YYYYMMDDHHMM as an integer, so it sorts and filters
    /// with one index. `source` is stored only when it differs from the canonical rendering (§7.2),
    /// as the document does. The canonical store keeps the text only inside the compressed
    /// `document` (title, category and date are kept for listing): storing it a second time would
    /// double the import's write volume, and every read of the full text on the server is rare. A
    /// replica keeps `body` in clear (search, export) and no document.
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE store_meta (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        role TEXT NOT NULL,
                        store_id BLOB NOT NULL,
                        head INTEGER NOT NULL DEFAULT 0,
                        horizon INTEGER NOT NULL DEFAULT 0,
                        live_count INTEGER NOT NULL DEFAULT 0,
                        digest BLOB NOT NULL,
                        dictionary_id INTEGER,
                        upstream_store_id BLOB,
                        cursor INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE dictionary (
                        id INTEGER PRIMARY KEY,
                        bytes BLOB NOT NULL
                    );
                    CREATE TABLE digest_log (
                        revision INTEGER PRIMARY KEY,
                        live_count INTEGER NOT NULL,
                        digest BLOB NOT NULL
                    );
                    CREATE TABLE article (
                        rowid INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        revision INTEGER NOT NULL UNIQUE,
                        deleted INTEGER NOT NULL DEFAULT 0,
                        published INTEGER,
                        category TEXT,
                        title TEXT,
                        body TEXT,
                        source BLOB,
                        content_hash BLOB,
                        document BLOB,
                        document_length INTEGER,
                        delta_base_revision INTEGER,
                        delta_base_hash BLOB,
                        delta BLOB
                    );
                    CREATE INDEX article_published ON article(published);
                    """)
        }
        migrator.registerMigration("v2-fts-pending") { db in
            // 1 while a reading replica's full-text index is still to be built in bulk (after a
            // bootstrap, or when a mirror became a reading replica): see ReplicaStore+FullTextIndex.
            try db.execute(sql: "ALTER TABLE store_meta ADD COLUMN fts_pending INTEGER NOT NULL DEFAULT 0")
        }
        registerPullLogMigration(&migrator)
        migrator.registerMigration("v3-kept-and-staged") { db in
            // A replica's article that a pull deleted and `--keep-deleted` kept: deleted = 1 with its
            // content, and when (Unix seconds). NULL on live rows and on the canonical store's
            // tombstones. See ReplicaStore+Kept.
            try db.execute(sql: "ALTER TABLE article ADD COLUMN deleted_at INTEGER")
            // A replica's pull that could delete something is downloaded here first, as received,
            // so the deletion guard sees every change before any is applied (ReplicaStore+Stage):
            // rows with revisions in (cursor, stage_cursor] of the store stage_upstream, each with
            // the end of the server's batch it came in (the stage is applied batch by batch).
            try db.execute(
                sql: """
                    CREATE TABLE pull_stage (
                        revision INTEGER PRIMARY KEY,
                        batch_to INTEGER NOT NULL,
                        id TEXT NOT NULL,
                        tombstone INTEGER NOT NULL,
                        content_hash BLOB,
                        encoding INTEGER,
                        base_hash BLOB,
                        document_length INTEGER,
                        data BLOB
                    );
                    CREATE INDEX pull_stage_id ON pull_stage(id);
                    ALTER TABLE store_meta ADD COLUMN stage_upstream BLOB;
                    ALTER TABLE store_meta ADD COLUMN stage_cursor INTEGER;
                    """)
        }
        registerArrivalAndPushLogMigration(&migrator)
        registerFullTextFedMigration(&migrator)
        migrator.registerMigration("v5-source-path") { db in
            // An article's path as imported, relative to the imported folder (the canonical store
            // records it, a replica keeps what the server sent: `export --layout source`).
            try db.execute(sql: "ALTER TABLE article ADD COLUMN source_path TEXT")
            try db.execute(sql: "ALTER TABLE pull_stage ADD COLUMN source_path TEXT")
        }
        return migrator
    }

    static let ftsTokenizer = GermanFoldingTokenizer.descriptor

    /// Creates or drops the replica's full-text index to match `enabled`.
    ///
    /// FTS5 with external content (`content='article_text'`, a view that inflates stored documents,
    /// see ReplicaStore+FullTextIndex): the index stores no second copy of the text, and snippet()
    /// reads it through the view. Tokenizer: `GermanFoldingTokenizer` (case,
    /// umlauts as a/o/u and ae/oe/ue, ß as ss); an index made with an earlier tokenizer is rebuilt
    /// (`upgradeFullTextIndex`).
    ///
    /// A new index over existing articles (a mirror opened as a reading replica) is only marked
    /// pending here: building it takes seconds per 10,000 articles, which the caller announces
    /// (`buildFullTextIndex`), and `search` builds it at the latest.
    static func configureFullTextIndex(_ db: Database, enabled: Bool) throws {
        let exists = try db.tableExists("article_fts")
        if enabled && exists {
            try dropFullTextTriggers(db)
            try upgradeFullTextIndex(db)
        } else if enabled && !exists {
            try createArticleTextView(db)
            try db.execute(sql: fullTextIndexDefinition)
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM article)") ?? false {
                try setFullTextIndexPending(db, true)
            }
        } else if !enabled && exists {
            try dropFullTextTriggers(db)
            try db.execute(sql: "DROP TABLE article_fts")
            try setFullTextIndexPending(db, false)
            try setFullTextIndexFed(db, false)
        }
    }

    /// A reading replica, the one people browse, counts its categories (`categories`, the reader's
    /// list) from a partial index instead of a scan of every article, documents and all: the
    /// first count after a pull of a million articles took seconds. A mirror, written far more
    /// than browsed, keeps the scan and spares every insert the index.
    static func configureCategoryIndex(_ db: Database, enabled: Bool) throws {
        if enabled {
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS article_category ON article(category) WHERE deleted = 0")
        } else {
            try db.execute(sql: "DROP INDEX IF EXISTS article_category")
        }
    }

    /// Releases before this one kept the index by triggers on `article`; the writes keep it now
    /// (`FullTextIndexWrites`), and a trigger left in place would index every change twice.
    static func dropFullTextTriggers(_ db: Database) throws {
        let triggers = try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ('article_fts_insert', 'article_fts_delete', 'article_fts_update')")
        for name in triggers { try db.execute(sql: "DROP TRIGGER \(name)") }
    }

    static func isFullTextIndexPending(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT fts_pending FROM store_meta") ?? false
    }

    static func setFullTextIndexPending(_ db: Database, _ pending: Bool) throws {
        try db.execute(sql: "UPDATE store_meta SET fts_pending = ?", arguments: [pending])
    }
}
