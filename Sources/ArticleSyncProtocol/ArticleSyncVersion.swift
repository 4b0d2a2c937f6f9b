/// The release of articlesync and articlesyncd: one number for both executables (`--version`) and
/// the agent strings they exchange in HELLO and WELCOME, so a log line names the build that wrote it.
public enum ArticleSyncVersion {
    public static let current = "1.0.0"
}
