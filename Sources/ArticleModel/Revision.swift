/// A store's revision counter (PROTOCOL.md §2): every change takes the next one; 0 is "nothing yet".
/// A plain `UInt64` on purpose: revisions are compared, subtracted and written as u64 everywhere, and a
/// wrapper would only add conversions at each of those places.
public typealias Revision = UInt64
