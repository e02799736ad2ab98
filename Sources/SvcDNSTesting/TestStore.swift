// TestStore: writes into an embedded store behind svcdns's back, as an older version with looser rules would have.

import Registry

/// The embedded (SQLite) store of a stopped svcdns, opened by a test.
public enum TestStore {
    /// Writes `json` as the stored object of that kind and key, without any of the API's validation: what an
    /// older svcdns may have accepted and stored before today's rules. The process using `directory` must be
    /// stopped.
    public static func writeUnchecked(directory: String, kind: String, namespace: String, name: String, json: String) throws {
        try ObjectStore(directory: directory).put(kind: kind, namespace: namespace, name: name, json: json)
    }
}
