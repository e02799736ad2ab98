import Foundation
import GRDB

/// An object written through the API, as stored: its Kubernetes JSON and the revision of its last write.
public struct StoredObject: Hashable, Sendable {
    public var kind: String
    public var namespace: String
    public var name: String
    public var json: String
    /// Grows with every write to the store; the object's `resourceVersion`.
    public var revision: Int64

    public init(kind: String, namespace: String, name: String, json: String, revision: Int64) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.json = json
        self.revision = revision
    }
}

/// A store that cannot be used, with the path and the reason; svcdns does not start on it.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason)" }
}

/// The durable home of objects written through the API (`--store DIR`): SQLite through GRDB.
///
/// WAL journal with `synchronous = FULL`, so a write is on disk when `put` or `delete` returns: an
/// acknowledged write survives `kill -9` and power loss. A file that is not a readable SQLite
/// database fails `init` with a `StoreError`, never an empty registry in its place.
public final class ObjectStore: Sendable {
    public let path: String
    private let database: DatabaseQueue

    public static let fileName = "registry.sqlite"

    public init(directory: String) throws(StoreError) {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(path: directory, reason: "cannot create the store directory: \(error.localizedDescription)")
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            // WAL's default (NORMAL) can lose the last commits on power loss; FULL syncs every commit.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            let check = try database.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
            guard check == "ok" else {
                throw StoreError(path: path, reason: "the database is damaged (\(check ?? "no answer"))")
            }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("objects") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE objects (
                            kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                            json TEXT NOT NULL, revision INTEGER NOT NULL,
                            PRIMARY KEY (kind, namespace, name))
                        """
                )
                try db.execute(sql: "CREATE TABLE revision (value INTEGER NOT NULL)")
                try db.execute(sql: "INSERT INTO revision (value) VALUES (0)")
            }
            try migrator.migrate(database)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError(path: path, reason: "cannot be opened as svcdns's store: \(error.message ?? "\(error.resultCode)")")
        } catch {
            throw StoreError(path: path, reason: "cannot be opened as svcdns's store: \(error)")
        }
    }

    /// Creates or replaces an object; returns its new revision once the write is durable.
    @discardableResult
    public func put(kind: String, namespace: String, name: String, json: String) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: "UPDATE revision SET value = value + 1")
            let revision = try Int64.fetchOne(db, sql: "SELECT value FROM revision") ?? 0
            try db.execute(
                sql: "INSERT OR REPLACE INTO objects (kind, namespace, name, json, revision) VALUES (?, ?, ?, ?, ?)",
                arguments: [kind, namespace, name, json, revision]
            )
            return revision
        }
    }

    /// Removes an object; false when there was none. Durable when it returns.
    @discardableResult
    public func delete(kind: String, namespace: String, name: String) throws -> Bool {
        try database.write { db in
            try db.execute(
                sql: "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?", arguments: [kind, namespace, name]
            )
            return db.changesCount > 0
        }
    }

    /// One object, or nil.
    public func get(kind: String, namespace: String, name: String) throws -> StoredObject? {
        try database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT kind, namespace, name, json, revision FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                arguments: [kind, namespace, name]
            ).map(Self.object)
        }
    }

    /// Every object, ordered by kind, namespace and name.
    public func all() throws -> [StoredObject] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, namespace, name, json, revision FROM objects ORDER BY kind, namespace, name")
                .map(Self.object)
        }
    }

    private static func object(_ row: Row) -> StoredObject {
        StoredObject(kind: row["kind"], namespace: row["namespace"], name: row["name"], json: row["json"], revision: row["revision"])
    }
}
