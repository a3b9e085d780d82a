//! The durable half of the store: current objects and the revision counter in one SQLite file (WAL).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::OpenError;

/// SQLite holds the current state only; history for watch lives in memory (see `watch`).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    resource  TEXT    NOT NULL,
    namespace TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    revision  INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (resource, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

const REVISION_KEY: &str = "revision";

pub(super) struct Db {
    conn: Connection,
}

/// One row to write in a batch.
pub(super) enum RowWrite<'a> {
    Put {
        resource: &'a str,
        namespace: &'a str,
        name: &'a str,
        revision: u64,
        data: &'a [u8],
    },
    Delete {
        resource: &'a str,
        namespace: &'a str,
        name: &'a str,
    },
}

impl Db {
    pub(super) fn open(path: Option<&Path>) -> Result<Self, OpenError> {
        let shown = path.map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        let wrap = |source| OpenError::Sqlite {
            path: shown.clone(),
            source,
        };
        let conn = match path {
            Some(path) => Connection::open(path),
            None => Connection::open_in_memory(),
        }
        .map_err(wrap)?;
        // WAL with synchronous=FULL: a commit returns only after its WAL frames are fsynced, so
        // an acknowledged write survives kill -9 and power loss (design: "durable means durable").
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.execute_batch(SCHEMA).map_err(wrap)?;
        Ok(Self { conn })
    }

    /// Calls `each` for every stored object and returns the last committed revision.
    pub(super) fn load(
        &mut self,
        mut each: impl FnMut(&str, &str, &str, u64, &[u8]) -> Result<(), OpenError>,
    ) -> Result<u64, OpenError> {
        let wrap = |source| OpenError::Sqlite {
            path: "store".to_owned(),
            source,
        };
        let revision: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [REVISION_KEY],
                |row| row.get(0),
            )
            .optional()
            .map_err(wrap)?;
        let mut statement = self
            .conn
            .prepare("SELECT resource, namespace, name, revision, data FROM objects")
            .map_err(wrap)?;
        let mut rows = statement.query([]).map_err(wrap)?;
        let mut max_seen = 0u64;
        while let Some(row) = rows.next().map_err(wrap)? {
            let resource: String = row.get(0).map_err(wrap)?;
            let namespace: String = row.get(1).map_err(wrap)?;
            let name: String = row.get(2).map_err(wrap)?;
            let object_revision: i64 = row.get(3).map_err(wrap)?;
            let data: Vec<u8> = row.get(4).map_err(wrap)?;
            let object_revision = u64::try_from(object_revision).unwrap_or(0);
            max_seen = max_seen.max(object_revision);
            each(&resource, &namespace, &name, object_revision, &data)?;
        }
        // The meta row is written in the same transaction as the objects, so it is never behind;
        // taking the max anyway keeps revisions increasing even if it were.
        Ok(max_seen.max(revision.and_then(|r| u64::try_from(r).ok()).unwrap_or(0)))
    }

    /// Writes a batch in one transaction and records `revision` as the newest; all or nothing.
    pub(super) fn commit(
        &mut self,
        rows: &[RowWrite<'_>],
        revision: u64,
    ) -> Result<(), rusqlite::Error> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO objects (resource, namespace, name, revision, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut delete = tx.prepare_cached(
                "DELETE FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
            )?;
            for row in rows {
                match row {
                    RowWrite::Put {
                        resource,
                        namespace,
                        name,
                        revision,
                        data,
                    } => {
                        let revision = i64::try_from(*revision).unwrap_or(i64::MAX);
                        put.execute(params![resource, namespace, name, revision, data])?;
                    }
                    RowWrite::Delete {
                        resource,
                        namespace,
                        name,
                    } => {
                        delete.execute(params![resource, namespace, name])?;
                    }
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![REVISION_KEY, i64::try_from(revision).unwrap_or(i64::MAX)],
            )?;
        }
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kill -9 test cannot tell an fsynced commit from one left in the OS cache; this pins
    /// the setting that makes an acknowledged write survive power loss.
    #[test]
    fn a_store_file_commits_through_an_fsynced_write_ahead_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(Some(&dir.path().join("store.db"))).expect("open");
        let journal: String = db
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("journal_mode");
        let synchronous: i64 = db
            .conn
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .expect("synchronous");
        assert_eq!(journal, "wal");
        // 2 is FULL: NORMAL (1) would skip the fsync of each WAL commit.
        assert_eq!(synchronous, 2);
    }
}
